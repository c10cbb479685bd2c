"""A real EVM chain for the bench: geth in developer mode (``geth --dev``, GPL-3.0, run as a separate
program), built by scripts/tools.sh like the other bench binaries. One block a second (``--dev.period``),
whether or not there are transactions, so a node following it sees heads steadily; chain ID 1337, which the
Chainlink node knows as its "Simulated" chain (chainlink-evm pkg/config/toml/defaults/Simulated.toml). Its
one account, the developer account, holds nearly 2^256 wei and is unlocked: ``fund`` pays from it.

    with DevChain(tmp_dir) as chain:
        chain.fund(address, 10**18)              # one ether, mined in the next block
        chain.balance(address)                   # wei

HTTP and WebSocket JSON-RPC listen on free loopback ports (``http_url``, ``ws_url``), picked at the first
start and kept by later ones, so that a node configured with them finds the chain again after ``stop()`` and
``start()``; no IPC socket, no P2P (developer mode dials and listens to no peers). The chain lives in memory,
so each start is a new chain from its genesis (with a data directory and geth's default cache, its database
preallocates about 1.4 GB of disk). A node following a chain that starts again from its genesis keeps its
highest head until the new chain passes it (chainlink-framework chains/heads/tracker.go), and its keys' funds
are gone. ``persist=True`` keeps the chain in ``DIR/data`` instead, so that a start after a stop continues
it, as an RPC node that restarts does; geth's cache is then cut to 16 MB, and what its database preallocates
to a few MB. ``DIR/logs/geth.log`` has its output; ``DIR/components.json`` lists its pid for
``python -m devkit.cluster down --dir DIR``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from devkit.cluster.controlplane import free_ports
from devkit.cluster.process import BenchError, BenchServer

# Every flag of geth also reads GETH_<FLAG> from the environment: a stray one must not change the chain.
_ENV_PREFIX = "GETH_"


class DevChain(BenchServer):
    """``geth --dev`` logging into ``directory``. With ``persist``, its chain is kept in ``DIR/data``, so a
    restart continues it."""

    BINARY = "geth"

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        block_seconds: int = 1,
        persist: bool = False,
        bin_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(directory, bin_dir, timeout)
        self.host = host
        self.block_seconds = block_seconds
        self.persist = persist
        self.http_port = self.ws_port = 0
        self.chain_id = 0
        self.developer = ""  # the funded, unlocked account
        self._http: httpx.Client | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    def stop(self) -> None:
        """The chain is gone with the process, unless it persists."""
        if self._http is not None:
            self._http.close()
            self._http = None
        super().stop()

    # -- the chain ----------------------------------------------------------------------------------

    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call over HTTP; an error answer raises BenchError with geth's message."""
        if self._http is None:
            raise BenchError("the dev chain has not been started")
        answer = self._http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        answer.raise_for_status()
        body = answer.json()
        if "error" in body:
            raise BenchError(f"{method}: {body['error']}")
        return body["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def balance(self, address: str) -> int:
        """The address's balance at the latest block, in wei."""
        return int(self.rpc("eth_getBalance", address, "latest"), 16)

    def fund(self, address: str, wei: int) -> str:
        """Send wei from the developer account and wait until a block includes it; the transaction's hash."""
        tx = self.rpc("eth_sendTransaction", {"from": self.developer, "to": address, "value": hex(wei)})
        deadline = time.monotonic() + self.timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", tx)) is None:
            if time.monotonic() > deadline:
                raise BenchError(f"transaction {tx} not mined within {self.timeout:.0f}s")
            time.sleep(0.2)
        if receipt["status"] != "0x1":
            raise BenchError(f"transaction {tx} failed: {receipt}")
        return str(tx)

    # -- as a bench server -------------------------------------------------------------------------

    def _command(self, binary: Path) -> list[str]:
        if not self.http_port:  # kept across restarts: its RPC nodes' URLs stay right
            self.http_port, self.ws_port = free_ports(2, self.host)
        self._http = httpx.Client(base_url=self.http_url, timeout=10)
        return [
            str(binary),
            "--dev",
            f"--dev.period={self.block_seconds}",
            # Nothing uses IPC; without a data directory its socket would be $TMPDIR/geth.ipc, one for every
            # chain on the machine.
            "--ipcdisable",
            "--http",
            f"--http.addr={self.host}",
            f"--http.port={self.http_port}",
            # Pods ask by the bridge's address: geth answers only Host "localhost" and its own origins else.
            "--http.vhosts=*",
            "--ws",
            f"--ws.addr={self.host}",
            f"--ws.port={self.ws_port}",
            "--ws.origins=*",
            *([f"--datadir={self.directory / 'data'}", "--cache=16"] if self.persist else []),
        ]

    def _env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIX)}

    def _not_ready(self) -> str | None:
        self.rpc("eth_blockNumber")
        return None

    def _started(self) -> None:
        self.chain_id = int(self.rpc("eth_chainId"), 16)
        self.developer = self.rpc("eth_accounts")[0]
