"""Per-node templating: the grammar, each reference against a node's facts, and the messages that name an
unresolved reference."""

import pytest
from chainlink_agent.model.errors import InvalidSpec, Unresolved
from chainlink_agent.model.nodetypes import EthKey, KeyBundle, NodeFacts, P2PKey
from chainlink_agent.model.template import (
    MAX_REFERENCE_LENGTH,
    MAX_REFERENCES,
    lookups,
    references,
    substitute,
)

FACTS = NodeFacts(
    p2p_keys=(P2PKey("p2p_12D3KooWA"),),
    ocr_bundles=(KeyBundle("ocr1"),),
    ocr2_bundles=(KeyBundle("b-evm", "evm"), KeyBundle("b-sol", "solana")),
    eth_keys=(
        EthKey("0xDisabled", "11155111", disabled=True),
        EthKey("0xSepolia", "11155111"),
        EthKey("0xMain", "1"),
    ),
)


def test_node_facts_resolve():
    text = (
        'p2p = "{{ node.p2pPeerID }}"\nocr = "{{node.ocrKeyBundleID}}"\n'
        'ocr2 = "{{ node.ocr2KeyBundleID "solana" }}"\neth = "{{ node.ethAddress "11155111" }}"\n'
    )
    assert (
        substitute(text, FACTS, {})
        == 'p2p = "p2p_12D3KooWA"\nocr = "ocr1"\nocr2 = "b-sol"\neth = "0xSepolia"\n'
    )


def test_secret_and_config_map_values_come_from_the_caller():
    text = 'url = "{{ secret "ea" "url" }}"\nfeed = "{{ configMap "feeds" "eth-usd" }}"'
    refs = references(text)
    assert lookups(refs) == {("secret", "ea", "url"), ("configMap", "feeds", "eth-usd")}
    values = {("secret", "ea", "url"): "https://t@ea", ("configMap", "feeds", "eth-usd"): "0xfeed"}
    assert substitute(text, FACTS, values) == 'url = "https://t@ea"\nfeed = "0xfeed"'


def test_text_without_references_is_unchanged_and_a_literal_is_an_escape():
    assert substitute("a = 1\nb = '$(x)'", FACTS, {}) == "a = 1\nb = '$(x)'"
    assert substitute('x = "{{ "{{" }} y }}"', FACTS, {}) == 'x = "{{ y }}"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{{ node.ocr2KeyBundleID "starknet" }}',
            '{{ node.ocr2KeyBundleID "starknet" }}: the node has no OCR2 key bundle for chain type starknet',
        ),
        (
            '{{ node.ethAddress "137" }}',
            '{{ node.ethAddress "137" }}: the node has no enabled ETH key for EVM chain ID 137',
        ),
        (
            '{{ secret "ea" "url" }}',
            "{{ secret \"ea\" \"url\" }}: no key 'url' in Secret 'ea' (or no such Secret)",
        ),
    ],
)
def test_unresolved_reference_is_named(text, message):
    with pytest.raises(Unresolved) as raised:
        substitute(text, FACTS, {})
    assert raised.value.message == message


def test_a_node_without_keys_leaves_node_references_unresolved():
    with pytest.raises(Unresolved, match="the node has no P2P key"):
        substitute("{{ node.p2pPeerID }}", NodeFacts(), {})


@pytest.mark.parametrize(
    "text",
    [
        "{{ node.peerID }}",
        "{{ node.ocr2KeyBundleID }}",
        "{{ node.ethAddress 11155111 }}",
        '{{ secret "only-one" }}',
        "{{ }}",
    ],
)
def test_malformed_references_are_invalid_specs(text):
    with pytest.raises(InvalidSpec) as raised:
        references(text)
    assert raised.value.reason == "InvalidReference"
    assert raised.value.message.startswith(text)


def test_first_closing_braces_end_a_reference_and_stray_braces_are_text():
    assert substitute('{{ "a}" }}}{ {{"b"}}}}', FACTS, {}) == "a}}{ b}}"
    with pytest.raises(InvalidSpec, match="cannot parse"):
        references('{{ "}}" }}')


def test_64_kb_of_opening_braces_hold_no_reference_and_are_scanned_once():
    # The lazy regex this replaced tried each "{{" against the rest: 22 s here. Timed in bench.template_scan.
    text = "{{" * 32768
    assert references(text) == []
    assert substitute(text, FACTS, {}) == text
    closed_once = text + "{{ node.p2pPeerID }}"  # still one reference: from the first "{{" to the "}}"
    with pytest.raises(InvalidSpec, match="a reference holds at most"):
        references(closed_once)


def test_a_spec_holds_at_most_max_references():
    assert len(references("{{ node.p2pPeerID }}" * MAX_REFERENCES)) == MAX_REFERENCES
    with pytest.raises(InvalidSpec) as raised:
        references("{{ node.p2pPeerID }}" * (MAX_REFERENCES + 1))
    assert raised.value.reason == "InvalidReference"
    assert raised.value.message == "more than 256 {{ }} references: the most one spec may hold"


def test_a_reference_holds_at_most_max_reference_length_characters_and_is_named_by_its_head():
    longest = '{{ configMap "' + "n" * (MAX_REFERENCE_LENGTH - 18) + '" "k" }}'
    assert references(longest)[0].args[1] == "k"
    with pytest.raises(InvalidSpec) as raised:
        substitute(longest.replace('"n', '"nn'), FACTS, {})
    assert raised.value.reason == "InvalidReference"
    head = '{{ configMap "' + "n" * 26
    assert raised.value.message == f"{head}...: a reference holds at most 1024 characters"
