"""pytest fixtures for the real Chainlink node (a plugin, loaded through devkit/pytest_plugin.py).

- real_nodes (session): one throwaway Postgres and a database the node has migrated once (its first start,
  ~6 s); each node then starts on a copy of it (createdb -T, ~2 s to ready), as after its first start.
- real_node: a fresh node for one test, stopped after it.
The binary comes from scripts/tools.sh. CHAINLINK_K8S_REAL_NODE=0 skips these tests locally; CI builds the
node and runs them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .node import RealNode, binary, strong_password
from .postgres import Postgres

TEMPLATE = "node_template"


class RealNodes:
    def __init__(self, postgres: Postgres, workdir: Path) -> None:
        self.postgres, self.workdir = postgres, workdir
        self.keystore_password, self.api_password = strong_password(), strong_password()
        postgres.create_database(TEMPLATE)
        first = self._start(TEMPLATE, "template")
        first.stop()

    def start(self, name: str, extra_config: str = "", database: str | None = None) -> RealNode:
        """A node on a new copy of the migrated database, or on `database` (new_database's, or restored)."""
        if database is None:
            database, directory = self._database(name)
        else:
            directory = f"{re.sub(r'[^a-z0-9]+', '-', name.lower())[:40].strip('-')}-{database}"
        return self._start(database, directory, extra_config)

    def new_database(self, name: str) -> str:
        """A new copy of the migrated database, for a node started on it by name (start(..., database=))."""
        return self._database(name)[0]

    def pair(self, name: str, extra_config: str = "") -> tuple[RealNode, RealNode]:
        """Two nodes on one database, as the chart's standby runs them: the first holds the lease and is
        ready; the second is started and returned at once, waiting for the lease."""
        database, directory = self._database(name)
        first = self._start(database, f"{directory}-0", extra_config)
        return first, self._start(database, f"{directory}-1", extra_config, wait=False)

    def _database(self, name: str) -> tuple[str, str]:
        name = re.sub(r"[^a-z0-9]+", "-", name.lower())[:40].strip("-")
        database = f"node_{secrets.token_hex(4)}"
        self.postgres.create_database(database, template=TEMPLATE)
        return database, f"{name}-{database}"

    def _start(self, database: str, directory: str, extra_config: str = "", wait: bool = True) -> RealNode:
        # The password in the URL is not checked (trust on loopback), but the node wants a strong one there.
        url = self.postgres.url(database, strong_password())
        return RealNode.start(
            self.workdir / directory,
            url,
            self.keystore_password,
            self.api_password,
            extra_config=extra_config,
            wait=wait,
        )


@pytest.fixture(scope="session")
def real_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealNodes]:
    if os.environ.get("CHAINLINK_K8S_REAL_NODE") == "0":
        pytest.skip("CHAINLINK_K8S_REAL_NODE=0: the real node lane is off")
    if not binary().exists():
        pytest.fail(f"no real node at {binary()}: run scripts/tools.sh", pytrace=False)
    postgres = Postgres.start()
    try:
        yield RealNodes(postgres, tmp_path_factory.mktemp("real-nodes"))
    finally:
        postgres.stop()


@pytest.fixture
def real_node(real_nodes: RealNodes, request: pytest.FixtureRequest) -> Iterator[RealNode]:
    node = real_nodes.start(request.node.name)
    yield node
    node.stop()
