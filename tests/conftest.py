"""Shared pytest wiring: the control-plane bench, the node double and the real node are plugins."""

pytest_plugins = ["tests.cluster.fixtures", "tests.nodedouble.fixtures", "tests.realnode.fixtures"]
