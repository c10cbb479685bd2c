"""`chainlink-agent keys-toml OUT`: the chart's init container that turns keys kept in Secrets into the
secrets TOML the node imports them from at start.

The node (core/cmd/shell_local.go runNode) imports, before it starts, the ETH keys of `[[EVM.Keys]]`
(each its keystore JSON, the JSON's password and the EVM chain ID) when EVM is enabled, and the one
`[P2PKey]` (JSON and password) when P2P is enabled; a key it already holds is skipped
(keystore.ErrKeyExists). Field names follow core/config/toml's Secrets (EVM EthKeys{Keys []EthKey{JSON,
Password, ID}}, P2PKey{JSON, Password}) as read at core/services/chainlink/config_imported_eth_key.go
@ 2c46dda2a76fbf41cb1e30dcd3c457af1fd4aa91.

Input: CHAINLINK_AGENT_IMPORT_KEYS, a JSON list of {"type": "eth"|"p2p", "json": PATH, "password": PATH,
"evmChainID": "..."}, the paths being the Secret keys the chart mounts read-only. The output goes to a
memory-backed volume that only the node container mounts. Nothing read here is ever printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ENV = "CHAINLINK_AGENT_IMPORT_KEYS"


def render(keys: Sequence[Mapping[str, str]]) -> str:
    """The secrets TOML for these keys; each value is a {"type", "json", "password", "evmChainID"?} of
    contents, not paths. A JSON string is also a valid TOML basic string, so json.dumps quotes them."""
    p2p = [k for k in keys if k["type"] == "p2p"]
    if len(p2p) > 1:
        raise ValueError("the node imports one P2P key at most")
    lines: list[str] = []
    for key in keys:
        if key["type"] == "eth":
            chain = str(key.get("evmChainID", ""))
            if not chain.isdigit():
                raise ValueError("an eth key needs evmChainID, a decimal EVM chain ID")
            lines += ["[[EVM.Keys]]", *_pair(key), f"ID = {int(chain)}", ""]
        elif key["type"] != "p2p":
            raise ValueError(
                f"unsupported key type {key['type']!r}: the secrets TOML imports eth and p2p keys"
                " (the agent imports ocr and ocr2 bundles through the node's API)"
            )
    for key in p2p:
        lines += ["[P2PKey]", *_pair(key), ""]
    return "\n".join(lines)


def _pair(key: Mapping[str, str]) -> list[str]:
    return [f"JSON = {json.dumps(key['json'].strip())}", f"Password = {json.dumps(key['password'])}"]


def password_from(text: str) -> str:
    """A Secret made with `kubectl create secret --from-file` often ends in a newline the password lacks."""
    return text.removesuffix("\n").removesuffix("\r")


def write(out: Path, spec: str | None = None) -> int:
    """Reads the mounted keys named by CHAINLINK_AGENT_IMPORT_KEYS and writes the TOML to out (mode 0400)."""
    entries: list[dict[str, Any]] = json.loads(spec if spec is not None else os.environ.get(ENV, "[]"))
    keys = [
        {
            "type": str(e["type"]),
            "json": Path(e["json"]).read_text(encoding="utf-8"),
            "password": password_from(Path(e["password"]).read_text(encoding="utf-8")),
            "evmChainID": str(e.get("evmChainID", "")),
        }
        for e in entries
    ]
    text = render(keys)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return len(keys)
