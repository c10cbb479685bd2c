"""OCR and OCR2 key bundles kept in Secrets, imported into the node through its API.

The node the chart pins imports ETH and P2P keys from its secrets TOML at start (keystoml.py), but OCR and
OCR2 bundles only through its API: POST /v2/keys/ocr/import and /v2/keys/ocr2/import, the body being the
keystore JSON that `chainlink keys ocr|ocr2 export` writes and the query parameter `oldpassword` its password
(core/web/router.go, ocr_keys_controller.go and ocr2_keys_controller.go Import; the node redacts that
parameter in its own request log, router.go `blacklist`). The agent holds a session anyway, so it imports
them: before its workers start, and again at every resync, each bundle the node does not list is imported.
Its files are read afresh each time, so a Secret fixed in place is picked up without a restart.

The export JSON names the bundle's ID in the clear (ocrkey/export.go and ocr2key/export.go
EncryptedOCRKeyExport), so what is missing is known without decrypting anything, and a bundle already on
the node is never posted again. That matters: the node's OCR2 Import checks for a duplicate in the OCR (v1)
key ring, not the OCR2 one (core/services/keystore/ocr2.go), so it would not refuse one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from chainlink_agent.model.errors import ImportFailed, NodeError
from chainlink_agent.model.nodetypes import NodeFacts
from chainlink_agent.node.keystoml import password_from
from chainlink_agent.node.nodeclient import NodeClient
from chainlink_agent.runtime.settings import BundleFiles

log = logging.getLogger(__name__)

# ocrkey and ocr2key keyTypeIdentifier, as the export's "keyType" carries it.
KEY_TYPES = {"ocr": "OCR", "ocr2": "OCR2"}


@dataclass(frozen=True)
class Bundle:
    type: str
    id: str
    keystore_json: bytes
    password: SecretStr
    source: Path


def read(files: BundleFiles) -> Bundle:
    try:
        raw = files.json_file.read_bytes()
        password = password_from(files.password_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFailed(
            f"cannot read the {files.type} key bundle: {exc.strerror}: {exc.filename}"
        ) from exc
    try:
        export = json.loads(raw)
        bundle_id = export["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ImportFailed(
            f"{files.json_file} is not an exported {KEY_TYPES[files.type]} key bundle (a JSON object with"
            f' "id", as `chainlink keys {files.type} export` writes it)'
        ) from exc
    key_type = export.get("keyType", KEY_TYPES[files.type])  # OCR exports from before keyType lack it
    if key_type != KEY_TYPES[files.type] or not isinstance(bundle_id, str):
        raise ImportFailed(f"{files.json_file} holds a {key_type} key, but node.importKeys says {files.type}")
    return Bundle(files.type, bundle_id, raw, SecretStr(password), files.json_file)


def missing(bundles: Sequence[Bundle], facts: NodeFacts) -> list[Bundle]:
    """The bundles the node does not list yet. Pure."""
    present = {"ocr": {b.id for b in facts.ocr_bundles}, "ocr2": {b.id for b in facts.ocr2_bundles}}
    return [b for b in bundles if b.id not in present[b.type]]


class KeyImporter:
    def __init__(self, node: NodeClient, files: Sequence[BundleFiles]) -> None:
        self._node = node
        self._files = list(files)

    def ensure(self) -> tuple[frozenset[str], NodeFacts | None]:
        """Imports every bundle the node lacks. Returns the IDs of all of them (what templates prefer) and
        the node's keys as listed for that, unless an import has changed them since (then None)."""
        if not self._files:
            return frozenset(), None
        bundles = [read(f) for f in self._files]
        facts = self._node.facts()
        absent = missing(bundles, facts)
        for bundle in absent:
            try:
                self._node.import_key_bundle(bundle.type, bundle.keystore_json, bundle.password)
            except NodeError as exc:
                raise ImportFailed(
                    f"the node refused the {KEY_TYPES[bundle.type]} key bundle {bundle.id} from "
                    f"{bundle.source}: {exc}"
                ) from exc
            log.info("imported a key bundle", extra={"type": bundle.type, "bundle_id": bundle.id})
        return frozenset(b.id for b in bundles), None if absent else facts
