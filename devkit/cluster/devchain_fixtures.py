"""pytest fixture for the bench's EVM dev chain (devkit/cluster/devchain.py).

* ``dev_chain`` (session) -> ``DevChain``: ``geth --dev`` on free loopback ports, a block a second; started
  the first time a test asks for it, stopped at the end of the session. A missing binary fails the test with
  the command that builds it, as the object store's fixture does. Tests share the chain: each funds its own
  addresses (a node's ETH key is new with each node) and reads balances, heads and receipts, never the
  developer account's nonce or balance.

devkit/pytest_plugin.py lists this module in ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.cluster.devchain import DevChain
from devkit.cluster.fixtures import serving


@pytest.fixture(scope="session")
def dev_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    yield from serving(DevChain(tmp_path_factory.mktemp("devchain")), "dev chain")
