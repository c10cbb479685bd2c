"""The DON view: each node's OCR2 config values, bare of the node's type prefixes, in node-name order; a
node lacking one is named with what it lacks."""

import pytest
from chainlink_agent.status.don import DonError, render, view


def node(name, chain_id="11155111", chain_type="evm", disabled=False):
    keys = {
        "p2p": [{"peerID": f"p2p_12D3Koo{name}"}],
        "ocr2": [
            {
                "chainType": chain_type,
                "onchainPublicKey": f"ocr2on_{chain_type}_{name}01",
                "offchainPublicKey": f"ocr2off_{chain_type}_{name}02",
                "configPublicKey": f"ocr2cfg_{chain_type}_{name}03",
            }
        ],
        "eth": [
            {"address": f"0xOff{name}", "evmChainID": chain_id, "disabled": True},
            {"address": f"0x{name}", "evmChainID": chain_id, "disabled": disabled},
        ],
    }
    return {"metadata": {"name": name}, "status": {"keys": keys}}


def test_view_lists_the_config_arrays_in_node_order():
    result = view([node("b"), node("a")], "evm", "11155111")
    assert result["signers"] == ["0xa01", "0xb01"]
    assert result["transmitters"] == ["0xa", "0xb"]
    assert result["peerIDs"] == ["12D3Kooa", "12D3Koob"]
    assert result["offchainPublicKeys"] == ["a02", "b02"]
    assert result["configPublicKeys"] == ["a03", "b03"]
    lines = render(result, "table").splitlines()
    header = ["NODE", "PEERID", "SIGNER", "TRANSMITTER", "OFFCHAINPUBLICKEY", "CONFIGPUBLICKEY"]
    assert lines[0].split() == header
    assert lines[1].split() == ["a", "12D3Kooa", "0xa01", "0xa", "a02", "a03"]


def test_a_node_without_what_the_config_needs_is_named():
    with pytest.raises(DonError, match="node a has no enabled ETH key for EVM chain ID 1 in"):
        view([node("a")], "evm", "1")
    with pytest.raises(DonError, match="OCR2 key bundle for chain type solana"):
        view([node("a")], "solana", None)
    with pytest.raises(DonError, match="no ChainlinkNode matches"):
        view([], "evm", None)
