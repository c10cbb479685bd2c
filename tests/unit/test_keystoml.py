"""The secrets TOML the chart's init container writes for the node to import keys from."""

import json
import stat
import tomllib

import pytest
from chainlink_agent.cli import main
from chainlink_agent.node.keystoml import render

ETH_JSON = '{"address":"4e13","crypto":{"cipher":"aes-128-ctr"},"version":3}\n'


def test_eth_and_p2p_keys_in_the_nodes_secrets_shape():
    text = render(
        [
            {"type": "p2p", "json": '{"peerID":"p2p_12D3"}', "password": 'p"w\\1'},
            {"type": "eth", "json": ETH_JSON, "password": "", "evmChainID": "11155111"},
        ]
    )
    doc = tomllib.loads(text)
    assert doc["EVM"]["Keys"] == [{"JSON": ETH_JSON.strip(), "Password": "", "ID": 11155111}]
    assert doc["P2PKey"] == {"JSON": '{"peerID":"p2p_12D3"}', "Password": 'p"w\\1'}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([{"type": "eth", "json": "{}", "password": ""}], "needs evmChainID"),
        ([{"type": "p2p", "json": "{}", "password": ""}] * 2, "one P2P key at most"),
        ([{"type": "ocr2", "json": "{}", "password": ""}], "unsupported key type 'ocr2'"),
    ],
)
def test_what_the_node_cannot_import_is_refused(keys, message):
    with pytest.raises(ValueError, match=message):
        render(keys)


def test_the_command_reads_mounted_files_and_writes_an_owner_only_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "key.json").write_text(ETH_JSON)
    (tmp_path / "password").write_text("hunter2-password\n")
    spec = [
        {
            "type": "eth",
            "json": str(tmp_path / "key.json"),
            "password": str(tmp_path / "password"),
            "evmChainID": "1",
        }
    ]
    monkeypatch.setenv("CHAINLINK_AGENT_IMPORT_KEYS", json.dumps(spec))
    out = tmp_path / "out" / "keys.toml"
    assert main(["keys-toml", str(out)]) == 0
    assert tomllib.loads(out.read_text())["EVM"]["Keys"][0]["Password"] == "hunter2-password"
    assert stat.S_IMODE(out.stat().st_mode) == 0o400
    assert "hunter2" not in capsys.readouterr().err
    monkeypatch.setenv("CHAINLINK_AGENT_IMPORT_KEYS", json.dumps([{**spec[0], "evmChainID": ""}]))
    assert main(["keys-toml", str(tmp_path / "again.toml")]) == 2
