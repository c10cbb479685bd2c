"""Shared pytest wiring: the control-plane bench, the object store, the dev chain, the node double and the
real node are plugins."""

pytest_plugins = [
    "tests.cluster.fixtures",
    "tests.cluster.objectstore_fixtures",
    "tests.cluster.devchain_fixtures",
    "tests.nodedouble.fixtures",
    "tests.realnode.fixtures",
]
