"""Every test directory shares the dev kit's fixtures (devkit/pytest_plugin.py)."""

pytest_plugins = ["devkit.pytest_plugin"]
