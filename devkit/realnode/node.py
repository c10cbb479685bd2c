"""A real Chainlink node process against a database of a shared throwaway Postgres (postgres.py), on a
loopback port, with generated API credentials; stopped with SIGTERM. Its output goes to node.log."""

from __future__ import annotations

import secrets
import string
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from devkit.cluster.controlplane import BenchError, Component, free_ports
from devkit.cluster.tools import node_binary

REPO_ROOT = Path(__file__).resolve().parents[2]
EMAIL = "admin@real-node.test"


def binary() -> Path:
    """The node scripts/tools.sh builds (versioned path in the tools cache)."""
    return node_binary()


def strong_password() -> str:
    """What the node's complexity check accepts (core/utils/password.go VerifyPasswordComplexity: 16+
    characters, 3 each of upper, lower, digits and symbols, no run of 4), as the chart generates them."""
    pick = lambda alphabet, n: "".join(secrets.choice(alphabet) for _ in range(n))  # noqa: E731
    groups = (
        pick(string.ascii_uppercase, 3) + pick(string.digits, 3) + pick(string.ascii_lowercase, 3) + symbol
        for symbol in "-_."
    )
    return "".join(groups)


def config_toml(root: Path, port: int) -> str:
    """The smallest config that boots with no chain (observed: ../shared/notes/real-node.md)."""
    return f"""RootDir = "{root}"

[Log]
Level = "warn"

[WebServer]
HTTPPort = {port}
ListenIP = "127.0.0.1"
SecureCookies = false
AllowOrigins = "*"

[WebServer.TLS]
HTTPSPort = 0

[Database]
MaxIdleConns = 5
MaxOpenConns = 10
"""


# Nothing listens on the discard port: the node starts with a chain there, makes its ETH key and is ready
# (its /health answers 207).
UNREACHABLE_RPC = ("ws://127.0.0.1:9", "http://127.0.0.1:9")


def evm_config(chain_id: str, *rpcs: tuple[str, str], name: str = "rpc") -> str:
    """An EVM chain with these RPC nodes (WebSocket and HTTP URL each), named rpc-0, rpc-1, ... (`name`-0...:
    names, like URLs, are unique across all chains); one unreachable RPC node unless given."""
    nodes = "".join(
        f'[[EVM.Nodes]]\nName = "{name}-{i}"\nWSURL = "{ws}"\nHTTPURL = "{http}"\n'
        for i, (ws, http) in enumerate(rpcs or [UNREACHABLE_RPC])
    )
    return f'\n[[EVM]]\nChainID = "{chain_id}"\n{nodes}'


def ocr2_config(chain_id: str) -> str:
    """What a real node needs to take an OCR2 job: the chain, OCR2 (whose first start makes the node its
    bundles), P2P listening (on a free loopback port) and the log poller."""
    p2p = free_ports(1)[0]
    ocr2 = "[Feature]\nLogPoller = true\n[OCR2]\nEnabled = true\n"
    return f'{ocr2}[P2P.V2]\nListenAddresses = ["127.0.0.1:{p2p}"]\n{evm_config(chain_id)}'


class RealNode:
    """The node process is a bench Component: its own log, SIGTERM then SIGKILL on stop, and gone with
    the test process if that dies first."""

    def __init__(self, url: str, password: str, process: Component) -> None:
        self.url, self.email, self.password = url, EMAIL, password
        self.process = process
        # The same node again, on its files, port and log (launch sets it).
        self.relaunch: Callable[[bool], RealNode] = lambda _wait: self

    @classmethod
    def start(
        cls,
        workdir: Path,
        database_url: str,
        keystore_password: str,
        api_password: str,
        *,
        extra_config: str = "",
        timeout: float = 180,
        wait: bool = True,
    ) -> RealNode:
        """A node on database_url; the node makes its API user from the credentials file only when the
        database has none, and opens its keys only with the keystore password they were made with."""
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_ports(1)[0]
        config = workdir / "config.toml"
        config.write_text(config_toml(workdir / "root", port) + extra_config)
        secrets_file = workdir / "secrets.toml"
        secrets_file.write_text(
            f'[Database]\nURL = "{database_url}"\n\n[Password]\nKeystore = "{keystore_password}"\n'
        )
        api = workdir / "api"
        api.write_text(f"{EMAIL}\n{api_password}\n")
        url = f"http://127.0.0.1:{port}"
        return cls.launch(workdir, [config], [secrets_file], api, url, timeout, wait)

    @classmethod
    def launch(
        cls,
        workdir: Path,
        configs: list[Path],
        secrets_files: list[Path],
        api: Path,
        url: str,
        timeout: float = 180,
        wait: bool = True,
    ) -> RealNode:
        """`chainlink node -config ... -secrets ... start -a API` with these files, as the chart runs it.
        wait=False: return at once (a standby waits for the database lease, serving nothing)."""
        command = [str(binary()), "node", *_flags("-config", configs), *_flags("-secrets", secrets_files)]
        process = Component("chainlink-node", [*command, "start", "-a", str(api)], workdir / "node.log")
        process.start()
        node = cls(url, api.read_text().splitlines()[1], process)
        node.relaunch = lambda wait: cls.launch(workdir, configs, secrets_files, api, url, timeout, wait)
        if wait:
            node.wait_ready(timeout)
        return node

    def serving(self) -> bool:
        """Whether the web server answers at all (it starts once the node holds the database lease)."""
        try:
            httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    def signal(self, signum: int) -> None:
        """kill -9 (SIGKILL), or a freeze (SIGSTOP) and a thaw (SIGCONT)."""
        assert self.process.process is not None
        self.process.process.send_signal(signum)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process.ensure_running()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise BenchError(self.process.describe(f"the node was not ready within {timeout}s"))

    def stop(self) -> None:
        self.process.stop(grace=30)


def validate(config_files: list[Path], secrets_files: list[Path]) -> subprocess.CompletedProcess[str]:
    """`chainlink node -c ... -s ... validate`: the node's own check of a config and secrets."""
    command = [str(binary()), "node", *_flags("-config", config_files), *_flags("-secrets", secrets_files)]
    return subprocess.run([*command, "validate"], capture_output=True, text=True, timeout=120, check=False)


def _flags(flag: str, files: list[Path]) -> list[str]:
    return [arg for f in files for arg in (flag, str(f))]


def node_keys(node: RealNode) -> dict[str, list[str]]:
    """The node's keys (P2P peer IDs, ETH addresses, OCR2 bundle IDs, CSA keys) as its API lists them."""
    with httpx.Client(base_url=node.url, timeout=10) as http:
        http.post("/sessions", json={"email": node.email, "password": node.password}).raise_for_status()

        def listed(path: str, attribute: str | None) -> list[str]:
            keys = http.get(path).json()["data"]
            return sorted(k["attributes"][attribute] if attribute else k["id"] for k in keys)

        return {
            "p2p": listed("/v2/keys/p2p", "peerId"),
            "eth": listed("/v2/keys/eth", "address"),
            "ocr2": listed("/v2/keys/ocr2", None),
            "csa": listed("/v2/keys/csa", "publicKey"),
        }
