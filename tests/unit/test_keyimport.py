"""OCR/OCR2 bundle files as the chart mounts them, which ones a node lacks, and templates preferring them."""

import json
import os
import re
from pathlib import Path

import pytest
from chainlink_agent.model.errors import ImportFailed
from chainlink_agent.model.nodetypes import KeyBundle, NodeFacts
from chainlink_agent.model.template import substitute
from chainlink_agent.node.keyimport import Bundle, missing, read
from chainlink_agent.runtime.settings import BundleFiles
from pydantic import SecretStr

from devkit.nodedouble import keystore
from devkit.nodedouble.keys import new_ocr2_key, new_ocr_key


def files(tmp_path: Path, key_type: str, content: bytes) -> BundleFiles:
    (tmp_path / "key.json").write_bytes(content)
    (tmp_path / "password").write_text("pw\n")
    spec = {"type": key_type, "json": str(tmp_path / "key.json"), "password": str(tmp_path / "password")}
    return BundleFiles.model_validate(spec)


def test_an_exported_bundle_is_read_with_its_id_and_the_password_without_its_newline(tmp_path):
    key = new_ocr2_key(os.urandom, "evm")
    bundle = read(files(tmp_path, "ocr2", keystore.export(key, "pw")))
    assert (bundle.type, bundle.id, bundle.password.get_secret_value()) == ("ocr2", key.id, "pw")
    ocr = new_ocr_key(os.urandom)
    assert read(files(tmp_path, "ocr", keystore.export(ocr, "pw"))).id == ocr.id


def test_an_ocr_export_from_before_key_type_existed_is_still_an_ocr_bundle(tmp_path):
    exported = json.loads(keystore.export(new_ocr_key(os.urandom), "pw"))
    del exported["keyType"]
    assert read(files(tmp_path, "ocr", json.dumps(exported).encode())).id == exported["id"]


@pytest.mark.parametrize(
    ("key_type", "content", "message"),
    [
        ("ocr2", b"not json", 'is not an exported OCR2 key bundle (a JSON object with "id"'),
        ("ocr2", b"[1]", "is not an exported OCR2 key bundle"),
        ("ocr", b'{"keyType": "OCR2", "id": "b1"}', "holds a OCR2 key, but node.importKeys says ocr"),
    ],
)
def test_a_file_that_is_no_such_bundle_is_named(tmp_path, key_type, content, message):
    with pytest.raises(ImportFailed, match=re.escape(message)) as raised:
        read(files(tmp_path, key_type, content))
    assert str(tmp_path / "key.json") in str(raised.value)


def test_a_missing_file_is_named(tmp_path):
    spec = {"type": "ocr", "json": str(tmp_path / "absent.json"), "password": str(tmp_path / "pw")}
    with pytest.raises(ImportFailed, match=r"cannot read the ocr key bundle: .*absent.json"):
        read(BundleFiles.model_validate(spec))


def test_only_bundles_the_node_does_not_list_are_missing():
    def bundle(key_type: str, bundle_id: str) -> Bundle:
        return Bundle(key_type, bundle_id, b"{}", SecretStr(""), Path("x"))

    wanted = [bundle("ocr", "o1"), bundle("ocr", "o2"), bundle("ocr2", "b1"), bundle("ocr2", "o1")]
    facts = NodeFacts(ocr_bundles=(KeyBundle("o1"),), ocr2_bundles=(KeyBundle("b1", "evm"),))
    assert [(b.type, b.id) for b in missing(wanted, facts)] == [("ocr", "o2"), ("ocr2", "o1")]


def test_templates_resolve_to_imported_bundles_before_the_nodes_own():
    facts = NodeFacts(
        ocr_bundles=(KeyBundle("own"), KeyBundle("imported-1")),
        ocr2_bundles=(KeyBundle("own2", "evm"), KeyBundle("imp2", "evm")),
    )
    text = '{{ node.ocrKeyBundleID }} {{ node.ocr2KeyBundleID "evm" }}'
    assert substitute(text, facts, {}) == "own own2"
    assert substitute(text, facts.preferring(frozenset({"imported-1", "imp2"})), {}) == "imported-1 imp2"
    assert facts.preferring(frozenset()) is facts
