"""Per-node templating of job specs: `{{ ... }}` references resolved against one node's facts. Pure.

The grammar is tiny on purpose: one function name, then zero or more double-quoted arguments.

    {{ node.p2pPeerID }}                     the node's P2P peer ID (as the node prints it, "p2p_...")
    {{ node.ocrKeyBundleID }}                its OCR (v1) key bundle ID
    {{ node.ocr2KeyBundleID "evm" }}         its OCR2 key bundle ID for that chain type
    {{ node.ethAddress "11155111" }}         its first enabled ETH key for that EVM chain ID
    {{ secret "name" "key" }}                a key of a Secret in the resource's namespace
    {{ configMap "name" "key" }}             a key of a ConfigMap in the resource's namespace
    {{ "{{" }}                               a literal "{{"

`{{` cannot collide with what a job spec means: TOML has no `{{` token outside strings (an inline table
starts with a key, `{ a = ...}`), the node's pipeline variables are `$(name)`, and JSON inside a pipeline
string cannot hold `{{` either (an object opens with a key or closes at once). Values are inserted
verbatim: quote them in the TOML as the value needs.

Parsing (`references`) and substitution (`substitute`) are separate so that the caller reads only the
Secrets and ConfigMaps the spec names, and passes their values in.

A job author controls the text, so finding references is one linear pass (`_scan`), and a spec holds at
most MAX_REFERENCES references of at most MAX_REFERENCE_LENGTH characters each: any TOML, however
malformed, costs the agent time in proportion to its length. (Inline TOML is at most 65536 characters, the
CRD's maxLength; a tomlFrom ConfigMap at most 1 MiB, the apiserver's.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from chainlink_agent.model.errors import InvalidSpec, Unresolved
from chainlink_agent.model.nodetypes import NodeFacts

# A real spec holds a few dozen references of a few dozen characters; these leave room and bound the work.
MAX_REFERENCES = 256
MAX_REFERENCE_LENGTH = 1024  # between the braces
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z][A-Za-z0-9.]*))')
# function -> number of arguments
FUNCTIONS = {
    "node.p2pPeerID": 0,
    "node.ocrKeyBundleID": 0,
    "node.ocr2KeyBundleID": 1,
    "node.ethAddress": 1,
    "secret": 2,
    "configMap": 2,
}


@dataclass(frozen=True)
class Reference:
    text: str  # as written, e.g. '{{ node.ocr2KeyBundleID "evm" }}', for messages
    function: str
    args: tuple[str, ...]


def references(text: str) -> list[Reference]:
    """Every reference in text, in order; a malformed one is an InvalidSpec naming it."""
    return [ref for _start, _end, ref in _scan(text)]


def _scan(text: str) -> Iterator[tuple[int, int, Reference]]:
    """Each reference with its span, in order: from a "{{" to the first "}}" after it (so `{{ "{{" }}` is
    one reference), parsed as it is reached. Linear: the lazy regex it replaces tried every "{{" against the
    rest of the text, 22 s for 64 KB of "{{" with no "}}"."""
    count = 0
    start = text.find("{{")
    while start != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            return  # no "}}" after this "{{": none after a later one either
        count += 1
        if count > MAX_REFERENCES:
            message = f"more than {MAX_REFERENCES} {{{{ }}}} references: the most one spec may hold"
            raise InvalidSpec("InvalidReference", message)
        yield start, end + 2, _parse(text[start : end + 2], text[start + 2 : end])
        start = text.find("{{", end + 2)


def _parse(whole: str, inner: str) -> Reference:
    if len(inner) > MAX_REFERENCE_LENGTH:
        # Named by its head only: the status and the Event carry the message.
        message = f"{whole[:40]}...: a reference holds at most {MAX_REFERENCE_LENGTH} characters"
        raise InvalidSpec("InvalidReference", message)
    tokens: list[tuple[str | None, str | None]] = []
    position = 0
    body = inner.rstrip()
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None or match.end() == position:
            raise InvalidSpec("InvalidReference", f"{whole}: cannot parse {body[position:].strip()!r}")
        tokens.append((match.group(1), match.group(2)))
        position = match.end()
    if len(tokens) == 1 and tokens[0][0] is not None:
        return Reference(whole, "literal", (_unescape(tokens[0][0]),))
    if not tokens or tokens[0][1] is None:
        raise InvalidSpec("InvalidReference", f"{whole}: a reference starts with a name, e.g. node.p2pPeerID")
    function = tokens[0][1]
    if function not in FUNCTIONS:
        known = ", ".join(FUNCTIONS)
        raise InvalidSpec("InvalidReference", f"{whole}: unknown reference {function!r} (known: {known})")
    args = []
    for quoted, bare in tokens[1:]:
        if quoted is None:
            raise InvalidSpec("InvalidReference", f"{whole}: arguments are double-quoted, got {bare!r}")
        args.append(_unescape(quoted))
    if len(args) != FUNCTIONS[function]:
        wanted = FUNCTIONS[function]
        message = f"{whole}: {function} takes {wanted} argument(s), got {len(args)}"
        raise InvalidSpec("InvalidReference", message)
    return Reference(whole, function, tuple(args))


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted)


def substitute(text: str, facts: NodeFacts, values: Mapping[tuple[str, str, str], str | None]) -> str:
    """text with every reference replaced. values holds what the caller read for each secret/configMap
    reference, keyed by (function, name, key); None means missing. Raises Unresolved for the first
    reference without a value."""
    parts: list[str] = []
    done = 0
    for start, end, ref in _scan(text):
        parts += (text[done:start], resolve(ref, facts, values))
        done = end
    parts.append(text[done:])
    return "".join(parts)


def resolve(ref: Reference, facts: NodeFacts, values: Mapping[tuple[str, str, str], str | None]) -> str:
    fn, args = ref.function, ref.args
    if fn == "literal":
        return args[0]
    if fn in ("secret", "configMap"):
        value = values.get((fn, args[0], args[1]))
        if value is None:
            kind = "Secret" if fn == "secret" else "ConfigMap"
            raise Unresolved(ref.text, f"no key {args[1]!r} in {kind} {args[0]!r} (or no such {kind})")
        return value
    if fn == "node.p2pPeerID":
        return _first(ref, tuple(k.peer_id for k in facts.p2p_keys), "the node has no P2P key")
    if fn == "node.ocrKeyBundleID":
        return _first(ref, tuple(b.id for b in facts.ocr_bundles), "the node has no OCR key bundle")
    if fn == "node.ocr2KeyBundleID":
        found = tuple(b.id for b in facts.ocr2_bundles if b.chain_type == args[0])
        return _first(ref, found, f"the node has no OCR2 key bundle for chain type {args[0]}")
    found = tuple(k.address for k in facts.eth_keys if k.evm_chain_id == args[0] and not k.disabled)
    return _first(ref, found, f"the node has no enabled ETH key for EVM chain ID {args[0]}")


def _first(ref: Reference, candidates: tuple[str, ...], why: str) -> str:
    if not candidates:
        raise Unresolved(ref.text, why)
    return candidates[0]


def lookups(refs: list[Reference]) -> set[tuple[str, str, str]]:
    """The (function, name, key) of every secret and configMap reference: what the caller must read."""
    return {(r.function, r.args[0], r.args[1]) for r in refs if r.function in ("secret", "configMap")}
