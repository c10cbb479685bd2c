"""Shared pytest wiring: the control-plane bench and the Chainlink node double are plugins."""

pytest_plugins = ["tests.cluster.fixtures", "tests.nodedouble.fixtures"]
