"""The dev kit's pytest fixtures, one plugin: the control-plane bench, the object store, the dev chain, the
node double, the real node, the chart's tools, and the agents and nodes the integration scenarios start."""

pytest_plugins = [
    "devkit.cluster.fixtures",
    "devkit.cluster.objectstore_fixtures",
    "devkit.cluster.devchain_fixtures",
    "devkit.nodedouble.fixtures",
    "devkit.realnode.fixtures",
    "devkit.chart",
    "devkit.agents",
]
