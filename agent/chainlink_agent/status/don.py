"""The DON view: for a set of ChainlinkNodes, each node's values in the form an OCR2 on-chain config takes
them (signers, transmitters, peer IDs, off-chain and config public keys), read from the status the agents
wrote. The node prints its keys with type prefixes (core/web/presenters/ocr_keys.go: "ocr2on_<chain>_",
"ocr2off_<chain>_", "ocr2cfg_<chain>_"; keystore/keys/p2pkey/peer_id.go: "p2p_"); the config wants them
bare. Pure, but for `fetch`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = ("node", "peerID", "signer", "transmitter", "offchainPublicKey", "configPublicKey")
LISTS = {  # the config's arrays, each from one column
    "signers": "signer",
    "transmitters": "transmitter",
    "peerIDs": "peerID",
    "offchainPublicKeys": "offchainPublicKey",
    "configPublicKeys": "configPublicKey",
}


class DonError(Exception):
    """A node lacks what the config needs; the message names the node and what is missing."""


def row(node: Mapping[str, Any], chain_type: str, evm_chain_id: str | None) -> dict[str, str]:
    name = node["metadata"]["name"]
    keys = (node.get("status") or {}).get("keys") or {}
    p2p = keys.get("p2p") or []
    bundles = [b for b in keys.get("ocr2") or [] if b.get("chainType") == chain_type]
    eth = [
        k
        for k in keys.get("eth") or []
        if not k.get("disabled") and (evm_chain_id is None or k.get("evmChainID") == evm_chain_id)
    ]
    missing = [
        what
        for what, present in (
            ("P2P key", p2p),
            (f"OCR2 key bundle for chain type {chain_type}", bundles),
            ("enabled ETH key" + (f" for EVM chain ID {evm_chain_id}" if evm_chain_id else ""), eth),
        )
        if not present
    ]
    if missing:
        raise DonError(f"node {name} has no {' and no '.join(missing)} in its ChainlinkNode status")
    bundle = bundles[0]
    onchain = bundle.get("onchainPublicKey", "").removeprefix(f"ocr2on_{chain_type}_")
    return {
        "node": name,
        "peerID": p2p[0].get("peerID", "").removeprefix("p2p_"),
        "signer": "0x" + onchain if chain_type == "evm" else onchain,
        "transmitter": str(eth[0].get("address", "")),
        "offchainPublicKey": bundle.get("offchainPublicKey", "").removeprefix(f"ocr2off_{chain_type}_"),
        "configPublicKey": bundle.get("configPublicKey", "").removeprefix(f"ocr2cfg_{chain_type}_"),
    }


def view(nodes: Iterable[Mapping[str, Any]], chain_type: str, evm_chain_id: str | None) -> dict[str, Any]:
    """Rows by node name, and the config's arrays in that same order."""
    rows = sorted((row(n, chain_type, evm_chain_id) for n in nodes), key=lambda r: r["node"])
    if not rows:
        raise DonError("no ChainlinkNode matches")
    return {"nodes": rows, **{name: [r[column] for r in rows] for name, column in LISTS.items()}}


def table(rows: list[dict[str, str]]) -> str:
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    lines = [[c.upper() for c in COLUMNS], *([r[c] for c in COLUMNS] for r in rows)]
    return "\n".join(
        "  ".join(v.ljust(widths[c]) for c, v in zip(COLUMNS, line, strict=True)) for line in lines
    )


def render(result: dict[str, Any], output: str) -> str:
    return json.dumps(result, indent=2) if output == "json" else table(result["nodes"])
