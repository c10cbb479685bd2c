"""Hostile job authors, fuzzed (issue 28: "a marker and fuzz run over templates, bridge names and specs finds
no leak, no freeze and no unbounded call count").

A job author may create ChainlinkJobs and ChainlinkBridges, and use (not read) the Secrets the chart hands
this node. Whatever they write, the agent must not
- leak a Secret value into placements, Events, log lines or metrics (redaction.py),
- freeze: the template scan and the pipeline parse cost work in proportion to the text, with caps
  (template.MAX_REFERENCES references of template.MAX_REFERENCE_LENGTH characters),
- make node API calls in proportion to what the spec names (pipeline.MAX_BRIDGES, one bridge list per
  snapshot.BRIDGE_RELIST_SECONDS, nothing but a checked bridge name in a node API path).

Properties, over text from grammars biased to the dangerous shapes:
1. the template functions the reconcile calls (template.py);
2. bridge names alone and in pipelines (pipeline.py), and any TOML text through what reads it before a
   reconcile or instead of one (spec.render, pipeline.bridge_names, spec.external_id_only and the informer's
   resource.slim_for_node);
3. whole specs through the real JobReconciler and BridgeReconciler over the unit fakes (tests/unit/fakes.py),
   with a node that echoes whatever it refuses.
What the first run found (FINDING_* below: a RecursionError, a quadratic DOT tokenizer, a Secret spliced
into an externalJobID) is fixed; each keeps a property of its own, with its minimal example first.

Hypothesis runs derandomized and without an example database, so every run (CI's too) tries the same
examples. Function-scoped fixtures (caplog, monkeypatch) are not reset between a test's examples, so each
example captures its own logs and patches its own clock instead.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import string
import sys
import time
import tomllib
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType, ModuleType
from typing import Any, TypeVar
from unittest import mock

from chainlink_agent.model import pipeline, placement, redaction, spec, template
from chainlink_agent.model.errors import InvalidSpec, NodeRejected, NodeUnavailable, SpecError, Unresolved
from chainlink_agent.model.nodetypes import (
    DesiredBridge,
    EthKey,
    KeyBundle,
    NodeBridge,
    NodeFacts,
    NodeJob,
    P2PKey,
)
from chainlink_agent.model.phases import PHASES
from chainlink_agent.model.pipeline import MAX_BRIDGES
from chainlink_agent.model.resource import Resource, slim_for_node
from chainlink_agent.model.template import MAX_REFERENCE_LENGTH, MAX_REFERENCES
from chainlink_agent.node import snapshot
from chainlink_agent.runtime.logs import JsonFormatter
from hypothesis import Phase, event, example, given, settings
from hypothesis import strategies as st

from tests.unit.fakes import NODE, FakeCache, FakeKube, FakeNode, World

# Derandomized (the same examples every run, CI's too) and no example database (no replay of an earlier
# run's failure; the .hypothesis/ cache Hypothesis still writes ignores itself in git). The deadline is per
# example: it catches a freeze (the quadratic template scan took 22 s for 64 KB), not a slow machine. Reading
# 64 KB the linear way takes 5-20 ms here (2 cores), 25 times under it; where work can be counted
# (template.py's Python lines), that is asserted.
FUZZ: dict[str, Any] = {"derandomize": True, "database": None, "deadline": 500, "print_blob": False}
# A finding's property: its minimal example first, and no shrinking or explaining should it fail again (an
# example of the freeze took seconds, and shrinking tries hundreds).
FINDING: dict[str, Any] = {"phases": (Phase.explicit, Phase.generate)}
# A longer hunt, by hand: CHAINLINK_FUZZ_SCALE=20 runs 20 times the examples (still the same ones each run).
SCALE = int(os.environ.get("CHAINLINK_FUZZ_SCALE", "1"))

FACTS = NodeFacts(
    p2p_keys=(P2PKey("p2p_12D3KooWA"),),
    ocr_bundles=(KeyBundle("ocr1"),),
    ocr2_bundles=(KeyBundle("b-evm", "evm"),),
    eth_keys=(EthKey("0xSepolia", "11155111"),),
)
T = TypeVar("T")
ALNUM = string.ascii_letters + string.digits
EXT = "0eb9b7e4-0000-4000-8000-00000000000a"  # an external job ID an author sets by hand


def high_entropy(seed: int, length: int, alphabet: str = ALNUM) -> str:
    """length characters of alphabet derived from seed: a marker no generated text holds by chance (a
    drawn string would often be "0000...", which a UUID holds)."""
    digest = hashlib.sha512(seed.to_bytes(8, "big")).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def attempt(call: Callable[[], T]) -> tuple[T | None, SpecError | None]:
    """call()'s result, or the agent's own error it raised (InvalidSpec, or a Waiting such as Unresolved),
    for the caller to check; any other exception propagates and fails the property."""
    try:
        return call(), None
    except SpecError as exc:
        return None, exc


def dq(text: str) -> str:
    """text as a double-quoted string of the template grammar (and of DOT)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# 1. Templates -----------------------------------------------------------------------------------------

# Python lines run inside template.py by one call of references() or substitute(), over any text. Only the
# last reference parsed may hold many tokens (one with more than the three of `secret "a" "b"` is malformed
# and ends the scan), so the bound is a constant, whatever the text's length: per reference (at most
# MAX_REFERENCES + 1 are reached) about 50 lines, per token of that last one about 5 (measured: 12.4 k lines
# for 256 secret references, 2.6 k for one reference of 511 tokens). The str.find and regex work below
# those lines is linear in the text; the deadline, and the 64 KB examples, stand for it.
WORK_PER_REFERENCE = 64
WORK_PER_CHARACTER = 8
WORK_BOUND = WORK_PER_REFERENCE * (MAX_REFERENCES + 1) + WORK_PER_CHARACTER * MAX_REFERENCE_LENGTH + 64
# A refusal quotes the reference (at most MAX_REFERENCE_LENGTH characters between its braces) and the rest
# of its body repr()'d (each character at most 10: "\U0001f600"); the status cuts it to 1,024 anyway.
TEMPLATE_MESSAGE_BOUND = 12 * MAX_REFERENCE_LENGTH + 256


@dataclass
class Work:
    lines: int = 0


@contextmanager
def python_work(module: ModuleType) -> Iterator[Work]:
    """Counts the Python lines run in module's own code meanwhile: work, which a slow machine does not
    change (sys.settrace, restored after)."""
    work = Work()
    filename = module.__file__

    def local(frame: FrameType, what: str, arg: Any) -> Any:
        if what == "line":
            work.lines += 1
        return local

    def calls(frame: FrameType, what: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield work
    finally:
        sys.settrace(previous)


any_text = st.text(st.characters(codec="utf-8"), max_size=24)  # any character but a lone surrogate
reference = st.one_of(
    st.sampled_from(
        [
            "{{ node.p2pPeerID }}",
            "{{node.ocrKeyBundleID}}",
            '{{ node.ocr2KeyBundleID "evm" }}',
            '{{ node.ocr2KeyBundleID "starknet" }}',
            '{{ node.ethAddress "11155111" }}',
            '{{ "{{" }}',
            '{{ "}}" }}',
            "{{ }}",
            '{{ secret "ea" "value" }}',
        ]
    ),
    # A function (known or not) and any number of arguments, quoted or bare, quotes balanced or not.
    st.builds(
        lambda fn, args, pad: "{{" + pad + " ".join([fn, *args]) + pad + "}}",
        st.sampled_from([*template.FUNCTIONS, "literal", "Secret", "node", "node.", "x.y.z", "\u00e9", '"']),
        st.lists(st.one_of(any_text.map(dq), any_text), max_size=5),
        st.sampled_from(["", " ", "\t", "\n  "]),
    ),
    st.builds(lambda name, key: f"{{{{ secret {dq(name)} {dq(key)} }}}}", any_text, any_text),
    # Bodies around the length cap.
    st.builds(
        lambda n, char: "{{ " + dq(char * n) + " }}",
        st.integers(MAX_REFERENCE_LENGTH - 8, MAX_REFERENCE_LENGTH + 8),
        st.sampled_from(["a", "\\", '"', "\u00e9", "\U0001d518", "}"]),
    ),
)
debris = st.sampled_from(
    [
        *[
            "{{",
            "}}",
            "{",
            "}",
            "{{{",
            "}}}",
            '"',
            "\\",
            '\\"',
            " ",
            "\n",
            '{{ "',
            '" }}',
            "{{ secret",
            "$(x)",
        ],
        *["\u00e9", "\u212a", "\U0001d518", "\x00", "\u0130"],
    ]
)
template_text = st.lists(st.one_of(reference, debris, any_text), max_size=40).map("".join)
template_texts = st.one_of(
    template_text,
    # The same shapes tiled to 4 KB and to 64 KB, the inline TOML's maxLength.
    st.builds(
        lambda chunk, size: (chunk * (size // len(chunk) + 1))[:size],
        template_text.filter(bool),
        st.sampled_from([4096, 65536]),
    ),
    # Runs of "{{" with one closing somewhere after, or none: the scan's old worst case.
    st.builds(lambda k, tail: "{{" * k + tail, st.integers(0, 32768), template_text),
)


@settings(**FUZZ, max_examples=250 * SCALE)
@given(text=template_texts)
@example("{{" * 32768)
@example("{{" * 32767 + "{{ node.p2pPeerID }}")
@example("{{ " + "a" * 65530 + " }}")
@example("{{ " + '"" ' * 340 + "}}")
@example("{{ " + "a " * 511 + "}}")
@example('{{ secret "a" "b" }}' * MAX_REFERENCES)
@example('{{ "x" }}' * 7282)  # 64 KB of references: refused at the 257th
@example("{{}}" * 16384)
def test_any_template_text_parses_or_is_an_invalid_spec_within_a_fixed_amount_of_work(text: str) -> None:
    """references(), lookups() and substitute(), as JobReconciler._resolve calls them: each returns or
    raises the agent's own error (InvalidSpec; Unresolved, a Waiting, for a reference without a value),
    never another exception, within WORK_BOUND lines of template.py, however long the text."""
    event(size_class(text))
    with python_work(template) as work:
        refs, refused = attempt(lambda: template.references(text))
    assert work.lines <= WORK_BOUND
    if refused is not None:
        assert isinstance(refused, InvalidSpec)
        assert refused.reason == "InvalidReference"
        assert len(refused.message) <= TEMPLATE_MESSAGE_BOUND
    if refs is None:
        return
    assert len(refs) <= MAX_REFERENCES
    wanted = template.lookups(refs)
    assert wanted <= {(r.function, *r.args) for r in refs}
    values: dict[tuple[str, str, str], str | None] = {lookup: f"<{i}>" for i, lookup in enumerate(wanted)}
    for given_values in (values, {}, dict.fromkeys(values, "")):
        with python_work(template) as work:
            _, refused = attempt(lambda: template.substitute(text, FACTS, given_values))  # noqa: B023 - called at once
        assert work.lines <= WORK_BOUND
        if refused is not None:  # the references parsed: a value may be missing, nothing else
            assert isinstance(refused, Unresolved)
            assert len(refused.message) <= TEMPLATE_MESSAGE_BOUND


# 2. Bridge names --------------------------------------------------------------------------------------

ALLOWED = frozenset(string.ascii_letters + string.digits + "_-")
# Characters that look like, lowercase to or count as an allowed one somewhere else (\w, \d, casefold).
LOOKALIKES = "\u212a\u017f\u0131\u0130\uff21\u0663\u00b2\u00e9 ./\\?#%:\n\t\x00\u200b"
# A Secret value substituted elsewhere in the pipeline: a refusal may quote the name, never other text.
PLANTED = "MARKER-" + high_entropy(28, 16)


def node_takes(name: str) -> bool:
    """The node's rule (bridges.ParseBridgeName, ^[a-zA-Z0-9-_]*$), not empty, at most 255 characters."""
    return 0 < len(name) <= 255 and set(name) <= ALLOWED


bridge_name_texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=sorted(ALLOWED), max_size=300),
    st.text(alphabet=sorted(ALLOWED) + list(LOOKALIKES), max_size=80),
    st.builds(lambda n, c: c * n, st.integers(250, 260), st.sampled_from(["b", "B", "-", "_", "9"])),
)


@settings(**FUZZ, max_examples=300 * SCALE)
@given(name=bridge_name_texts)
@example("")
@example("b" * 255)
@example("b" * 256)
@example("price\n")
@example("\u212a")
@example("../../v2/keys/eth")
def test_a_bridge_name_is_taken_exactly_when_the_node_takes_it_and_a_refusal_quotes_only_its_head(
    name: str,
) -> None:
    _, refused = attempt(lambda: pipeline.check_bridge_name(name))
    assert (refused is None) == node_takes(name)
    if refused is not None:
        assert isinstance(refused, InvalidSpec)
        assert refused.reason == "InvalidBridgeName"
        assert len(refused.message) <= 64 * 10 + 128  # 64 characters of the name, repr()'d


@dataclass(frozen=True)
class Task:
    """One DOT node statement of a pipeline; name is set for a bridge task."""

    dot: str
    name: str | None = None


BARE = re.compile(r'[^\s\[\]=,;"]+')  # a DOT value the agent's tokenizer reads unquoted (pipeline._TOKENS)


@st.composite
def bridge_tasks(draw: st.DrawFn, label: str) -> Task:
    name = draw(
        st.one_of(
            st.sampled_from(["price", "Price", "PRICE", "volume", "b_1", "b-2", ""]),
            bridge_name_texts,
        )
    )
    kind = draw(st.sampled_from(["type=bridge", 'type="bridge"', "type=BRIDGE", "type = Bridge"]))
    sep = draw(st.sampled_from([" ", ", ", "; ", "\n  "]))
    bare = BARE.fullmatch(name) is not None and draw(st.booleans())
    value = name if bare else dq(name)
    return Task(f"{label} [{kind}{sep}name={value}]", name)


@st.composite
def pipelines(draw: st.DrawFn) -> list[Task]:
    others = [
        Task(f'fetch [type=http method=GET url="https://ea.example/?token={PLANTED}"]'),
        Task(f'memo [type=memo value="{PLANTED}"]'),
        Task('decoy [type=http url="https://x/[type=bridge name=fake]"]'),  # a bracket inside a value
        Task(f"parse [type=jsonparse path={PLANTED}]"),
    ]
    tasks = draw(
        st.lists(
            st.one_of(st.sampled_from(others), st.integers(0, 99).flatmap(lambda i: bridge_tasks(f"t{i}"))),
            max_size=12,
        )
    )
    many = draw(st.integers(0, MAX_BRIDGES + 4))  # distinct valid names, past the cap or not
    tasks += [Task(f"m{i} [type=bridge name=many{i}]", f"many{i}") for i in range(many)]
    return draw(st.permutations(tasks))


def expected_bridges(tasks: list[Task]) -> list[str] | str:
    """What bridge_names() says of these tasks, in order: the names lowercased, or the reason it refuses."""
    names: list[str] = []
    for task in tasks:
        if not task.name:
            continue  # no name: not a call the agent can check (the node refuses the job)
        if not node_takes(task.name):
            return "InvalidBridgeName"
        if task.name.lower() not in names:
            names.append(task.name.lower())
        if len(names) > MAX_BRIDGES:
            return "TooManyBridges"
    return names


@settings(**FUZZ, max_examples=300 * SCALE)
@given(tasks=pipelines())
def test_the_bridges_a_pipeline_calls_are_the_names_the_node_takes_and_a_refusal_quotes_no_other_text(
    tasks: list[Task],
) -> None:
    dot = "\n".join(task.dot for task in tasks) + "\nfetch -> memo"
    # A TOML literal string: the DOT text is the source as written, with no TOML escapes in between.
    toml = f"type = \"webhook\"\nschemaVersion = 1\n# {PLANTED}\nobservationSource = '''\n{dot}\n'''\n"
    try:
        source = tomllib.loads(toml)["observationSource"]
    except tomllib.TOMLDecodeError:
        source = None  # a name with a control character or ''' breaks the TOML: render() refuses it
    names, refused = attempt(lambda: pipeline.bridge_names(toml))
    outcome: list[str] | str
    if refused is not None:
        assert isinstance(refused, InvalidSpec)
        assert refused.reason in ("InvalidBridgeName", "TooManyBridges")
        assert PLANTED.lower() not in refused.message.lower()
        assert len(refused.message) <= 64 * 10 + 128
        outcome = refused.reason
    else:
        assert names is not None
        assert len(names) <= MAX_BRIDGES
        assert len(set(names)) == len(names)
        for name in names:
            assert node_takes(name)
            assert name == name.lower()
        outcome = names
    if source is None:
        assert outcome == []
    elif source == dot + "\n":
        assert outcome == expected_bridges(tasks)


# Any TOML text: what reads a spec before its reconcile (spec.render, pipeline.bridge_names) and what an
# agent keeps of a spec that does not target its node (the informer's resource.slim_for_node, which calls
# spec.external_id_only on every ChainlinkJob event). Fragments of TOML and of DOT, a few pasted together,
# or tiled to the inline TOML's 64 KB, bare or as an observationSource literal string (where the DOT
# tokenizer reads them: a TOML that does not parse never reaches it).
toml_fragments = st.sampled_from(
    [
        *['"', "'", '"""', "'''", "\\", '\\"', "[", "]", "[[", "]]", "{", "}", "=", ",", ";", "#", "\n", " "],
        *[
            "\r\n",
            "\\u",
            "\\U0010FFFF",
            "a = ",
            "externalJobID = ",
            "observationSource = ",
            "bridge",
            "name=",
        ],
        *["[type=bridge name=", '"x"', "x", EXT, f'"{EXT}"', "\u00e9", "\x00", "1", "true", "1979-05-27"],
    ]
)
toml_chunks = st.lists(st.one_of(toml_fragments, st.text(max_size=8)), min_size=1, max_size=24).map("".join)
tiled = st.builds(
    lambda chunk, size: (chunk * (size // len(chunk) + 1))[:size],
    toml_chunks.filter(bool),
    st.sampled_from([4096, 65000]),
)
tiled = st.one_of(tiled, st.builds(lambda fragment, n: fragment * n, toml_fragments, st.integers(1, 4000)))
toml_texts = st.one_of(
    toml_chunks,
    tiled,
    st.builds(lambda head, body: head + body, st.sampled_from(["", f'externalJobID = "{EXT}"\n']), tiled),
    # The DOT tokenizer's input: a literal string holds any text but control characters and "'''".
    st.builds(lambda body: f"observationSource = '''bridge\n{body}\n'''\n", tiled),
)


DERIVED = "6f1d3c55-0000-4000-8000-000000000001"


def name_of(text: str) -> str | None:
    """The external job ID jobs._name reads in a TOML (None: none it can tell, the claims table's then)."""
    if "externaljobid" not in text.lower():
        return DERIVED
    rendered, refused = attempt(lambda: spec.render(text, DERIVED))
    assert refused is None or refused.reason in ("InvalidTOML", "InvalidExternalJobID")
    return rendered.external_job_id if rendered is not None else None


def size_class(text: str) -> str:
    """For pytest --hypothesis-show-statistics: how many of the examples were long."""
    return "64 KB" if len(text) > 60_000 else "4-60 KB" if len(text) >= 4096 else "under 4 KB"


def read_like_the_agent(text: str) -> None:
    """What the agent does with a ChainlinkJob's TOML text before or instead of a reconcile, with what each
    step may raise: InvalidSpec (the resource is Invalid), nothing else."""
    _, refused = attempt(lambda: spec.render(text, DERIVED))
    assert refused is None or refused.reason in ("InvalidTOML", "InvalidExternalJobID")
    _, refused = attempt(lambda: pipeline.bridge_names(text))
    assert refused is None or refused.reason in ("InvalidBridgeName", "TooManyBridges")
    # An agent the job does not target keeps a few bytes of it, which name the same external job ID.
    kept = spec.external_id_only(text)
    assert len(kept) <= 8 * spec.MAX_KEPT_ID, "an untargeted job's cached TOML is small"
    assert name_of(kept) == name_of(text)
    untargeted = {
        "apiVersion": "x",
        "kind": "ChainlinkJob",
        "metadata": {"name": "hostile", "namespace": "ns", "resourceVersion": "1"},
        "spec": {"toml": text, "targets": {"names": ["another-node"]}},
    }
    slim_for_node(untargeted, NODE, {})


@settings(**FUZZ, max_examples=200 * SCALE)
@given(text=toml_texts)
@example("observationSource = '''bridge\n" + '"x' * 32000 + "\n'''\n")  # quotes that close
@example("observationSource = '''bridge " + '"\\' * 32000 + "'''")  # FINDING_DOT_QUOTES at 64 KB
@example("externalJobID = 1\na = " + "[" * 5000)  # FINDING_NESTING
def test_any_toml_text_is_read_or_refused_as_an_invalid_spec_in_time_in_proportion_to_its_length(
    text: str,
) -> None:
    event(size_class(text))
    read_like_the_agent(text)


# FINDING_NESTING (fixed: spec.parse turns it into InvalidTOML): tomllib (Python 3.11, as in the image)
# recurses once per nested array or inline table and raises RecursionError, not TOMLDecodeError, at about
# 500 levels; every caller caught only the latter.
# Minimal: "externalJobID = 1\na = " + "[" * 500 (Hypothesis raises the recursion limit by 2,000 frames
# while it tests, so the example below nests 5,000 deep). Where it landed:
# - resource.slim_for_node (spec.external_id_only), in the informer's list and watch, for a job that targets
#   another node: that agent's ChainlinkJob list fails and is retried forever, so it never syncs and never
#   reconciles a job again (one hostile job stops every agent it does not target);
# - spec.render, in the job's own reconcile (which raises; the worker logs it and retries with backoff);
# - jobs._name, from reconcile._winner, in the reconcile of another job whose hand-set external job ID the
#   hostile text merely mentions (in a comment): that job can no longer be reconciled, nor cleaned up.
@settings(**FUZZ, **FINDING, max_examples=100 * SCALE)
@given(text=toml_texts)
@example("externalJobID = 1\na = " + "[" * 5000)
def test_any_toml_text_however_deeply_nested_is_read_or_refused_as_an_invalid_spec(text: str) -> None:
    """FINDING_NESTING: no RecursionError, from the informer's slim_for_node or a reconcile."""
    read_like_the_agent(text)


# FINDING_DOT_QUOTES (fixed: a string left open now runs to the end of the text): pipeline._TOKENS tried its
# quoted-string alternative at every '"' and, where the string never closed, scanned to the end of the text;
# after '\"' (an escaped quote) the next '"' lay inside that scan, so each quote cost the rest: quadratic.
# An observationSource of '"\' repeated, in a TOML literal string, took 0.9 s for 16 KB and 16 s for the
# inline TOML's 64 KB (twice per reconcile with the fake node, which parses alike); a tomlFrom ConfigMap
# (1 MiB) would have taken about an hour. The reconcile reaches bridge_names once the TOML parses, as this
# one does. Minimal: the example below.
@settings(**FUZZ, **FINDING, max_examples=100 * SCALE)
@given(text=st.builds(lambda body: f"observationSource = '''bridge\n{body}\n'''\n", tiled))
@example("observationSource = '''bridge " + '"\\' * 10000 + "'''")  # 20 KB: 1.4 s before the fix
def test_the_bridges_of_any_pipeline_text_are_read_in_time_in_proportion_to_its_length(text: str) -> None:
    """FINDING_DOT_QUOTES: a pipeline of 64 KB is tokenized within the deadline, whatever its quotes."""
    read_like_the_agent(text.replace("[", "(").replace("{", "("))  # not nested: only time is in question


# 3. Whole specs through the reconcilers -----------------------------------------------------------------

SECRET = "ea"
NOT_ALLOWED = "other"
V = '{{ secret "ea" "value" }}'  # the marker, MARKER-<16 random letters and digits>
URL = '{{ secret "ea" "url" }}'  # https://ea.example/feed?token=<the marker>
UID = '{{ secret "ea" "uuid" }}'  # a UUID, in mixed case
LONG = '{{ secret "ea" "long" }}'  # the marker, a ".", and 80 more characters: a message would cut it
HEX = '{{ secret "ea" "hex" }}'  # 8 or 16 hex digits, an API key's shape (FINDING_HEX's property)
UNICODE = '{{ secret "ea" "unicode" }}'  # the marker and letters whose case mapping is not one to one
RESOLVED = [V, URL, UID, LONG, UNICODE, '{{ configMap "cm" "feed" }}', '{{ "{{" }}']
REFERENCES = [
    *RESOLVED,
    '{{ secret "ea" "nope" }}',  # no such key: Pending
    '{{ secret "other" "value" }}',  # a Secret this node may not read
    '{{ secret "EA" "value" }}',
    '{{ configMap "cm" "nope" }}',
    "{{ node.p2pPeerID }}",
    '{{ node.ocr2KeyBundleID "evm" }}',
    '{{ secret "ea" }}',  # malformed
    '{{ secret "ea" "value"',  # unclosed
]
# Mostly references that resolve, so that most specs reach the node.
references = st.one_of(*[st.sampled_from(RESOLVED)] * 3, st.sampled_from(REFERENCES))
EXTERNAL_IDS = [
    EXT,
    EXT.upper(),
    "urn:uuid:" + EXT,
    "{" + EXT + "}",
    EXT.replace("-", ""),
    "not-a-uuid",
    UID,
    "urn:uuid:" + UID,
    '{{ "{" }}' + UID + "}",
    V,
    "x" + V,
]
# An author who guesses a hex Secret's length pads it to the 32 digits of a UUID (FINDING_HEX).
HEX_EXTERNAL_IDS = [
    HEX + "-0000-4000-8000-000000000000",
    HEX + "0" * 16,
    "0" * 16 + HEX,
    "urn:uuid:" + HEX + "0" * 16,
]
BRIDGE_NAMES = ["price", "Price", "b0", "b1", "volume", "a.b", "../x", "", "x" * 256, "\u212a"]
BRIDGE_NAME_REFS = [
    V,
    "p" + V,
    V + "-q",
    URL,
    UID,
    LONG,
    UNICODE,
    '{{ secret "ea" "nope" }}',
    '{{ configMap "cm" "feed" }}',
]
DEBRIS = [
    f"x = {V}",  # a bare TOML value: the TOML does not parse
    f'note = "\\{V}"',  # an escape the value completes
    f"{V} = 1",  # the value as a TOML key
    f'note = "{V}\\"',
    '"unterminated',
    "[[",
    "{{",
    "}}",
    f"[table]\nkey = '{V}'",
    "deep = " + "[" * 5000,  # FINDING_NESTING's shape (Hypothesis raises the recursion limit by 2,000)
]


def go_upper(text: str) -> str:
    """strings.ToUpper, as the node (Go) cases text: one character for one (unicode.ToUpper's simple
    mapping), so "\u00df" stays as it is where Python's str.upper() makes "SS"."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def go_lower(text: str) -> str:
    """strings.ToLower likewise: "\u0130" becomes "i", not Python's "i" and a combining dot."""
    return "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in text)


# How a careless node might quote what it was sent in an error, cased as Go cases it: redaction.py matches a
# value in any case one character for one, which Go's simple case mapping keeps and Python's full one does
# not ("\u00df".upper() is "SS": a message that Python upper-cased would slip past it).
ECHOES: dict[str, Callable[[str], str]] = {
    "as sent": lambda text: text,
    "uppercased": go_upper,
    "lowercased": go_lower,
    "JSON": json.dumps,
    "repr": repr,
}
WRITES = ("create_job", "replace_job", "delete_job", "create_bridge", "update_bridge", "delete_bridge")


@st.composite
def job_tomls(draw: st.DrawFn, external_ids: list[str]) -> str:
    """A job TOML an author could write: valid or broken, with Secret and other references anywhere."""
    lines = ['type = "webhook"', "schemaVersion = 1"]
    if draw(st.booleans()):
        lines.append(f'externalJobID = "{draw(st.sampled_from(external_ids))}"')
    if draw(st.booleans()):
        lines.append(f'name = "job {draw(references)}"')
    tasks: list[str] = []
    for i in range(draw(st.integers(0, 5))):
        shape = draw(st.sampled_from(["bridge", "bare", "named", "http", "memo"]))
        if shape == "bridge":
            tasks.append(f"b{i} [type=bridge name={dq(draw(st.sampled_from(BRIDGE_NAMES)))}]")
        elif shape == "bare":
            tasks.append(f"b{i} [type=bridge name={draw(st.sampled_from(BRIDGE_NAME_REFS))}]")
        elif shape == "named":
            tasks.append(f'b{i} [type=bridge name="{draw(st.sampled_from(BRIDGE_NAME_REFS))}"]')
        elif shape == "http":
            url = draw(st.sampled_from([URL, "https://x/?k=" + V, "https://x/" + UID]))
            tasks.append(f'h{i} [type=http method=GET url="{url}"]')
        else:
            tasks.append(f'm{i} [type=memo value="{draw(references)}"]')
    many = draw(st.sampled_from([0, 0, 3, MAX_BRIDGES, MAX_BRIDGES + 8]))
    tasks += [f"n{i} [type=bridge name=n{i}]" for i in range(many)]
    tasks.append('fetch [type=memo value="1"]')
    lines.append('observationSource = """\n' + "\n".join(tasks) + '\n"""')
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        junk = draw(st.one_of(st.sampled_from(DEBRIS), st.text(max_size=16)))
        lines.insert(draw(st.integers(0, len(lines))), junk)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class JobSpec:
    toml: str
    from_config_map: bool
    suspend: bool
    targeted: bool


@dataclass(frozen=True)
class BridgeSpec:
    name: str
    url: dict[str, Any]
    confirmations: int


def job_specs(external_ids: list[str]) -> st.SearchStrategy[JobSpec]:
    return st.builds(
        JobSpec,
        toml=job_tomls(external_ids),
        from_config_map=st.booleans(),
        suspend=st.sampled_from([False, False, False, True]),
        targeted=st.sampled_from([True, True, True, False]),
    )


bridge_specs = st.builds(
    BridgeSpec,
    name=st.sampled_from(["price", "Price", "b0", "b1", "volume", "n0", "a.b", "../x"]),
    url=st.sampled_from(
        [
            {"url": "https://ea.example"},
            {"url": "  "},
            {"urlFrom": {"secretKeyRef": {"name": "ea", "key": "url"}}},
            {"urlFrom": {"secretKeyRef": {"name": "ea", "key": "value"}}},
            {"urlFrom": {"secretKeyRef": {"name": "ea", "key": "nope"}}},
            {"urlFrom": {"secretKeyRef": {"name": "other", "key": "url"}}},
        ]
    ),
    confirmations=st.integers(0, 2),
)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["job", "bridge", "edit", "delete job", "delete bridge"]), st.integers(0, 2)
        ),
        st.tuples(st.sampled_from(["wait"]), st.sampled_from([1, 5, 30])),
        st.just(("restart", 0)),
    ),
    max_size=10,
)


@dataclass(frozen=True)
class Scenario:
    seed: int
    jobs: list[JobSpec]
    bridges: list[BridgeSpec]
    steps: list[tuple[str, int]]
    echo: str
    write_failures: list[str]  # what the node does at each write call, in order: ok, rejected, unavailable
    by_hand: list[str]  # bridges on the node the agent did not make
    stale: list[str]  # bridges the snapshot believes in and the node no longer has
    keys: bool
    hex_digits: int = 0  # the length of the Secret's "hex" key; 0: it has none


def scenarios(hex_secret: bool = False) -> st.SearchStrategy[Scenario]:
    external_ids = EXTERNAL_IDS + HEX_EXTERNAL_IDS if hex_secret else EXTERNAL_IDS
    return st.builds(
        Scenario,
        seed=st.integers(0, 2**63 - 1),
        jobs=st.lists(job_specs(external_ids), min_size=1, max_size=3),
        bridges=st.lists(bridge_specs, max_size=3),
        steps=steps,
        echo=st.sampled_from(sorted(ECHOES)),
        write_failures=st.lists(st.sampled_from(["ok", "ok", "rejected", "unavailable"]), max_size=6),
        by_hand=st.lists(st.sampled_from(["price", "b0", "n1", "MARKER"]), max_size=2, unique=True),
        stale=st.lists(st.sampled_from(["volume", "b1", "n2", "MARKER"]), max_size=2, unique=True),
        keys=st.booleans(),
        hex_digits=st.sampled_from([8, 16]) if hex_secret else st.just(0),
    )


class HostileNode(FakeNode):
    """FakeNode, whose write refused or failed (write_failures, in order) says so quoting what was sent, the
    whole spec or URL (in the echo's form), as a careless node might."""

    def __init__(self, write_failures: list[str], echo: Callable[[str], str]) -> None:
        super().__init__()
        self.write_failures = list(write_failures)
        self.echo = echo
        self.sent = ""

    def _do(self, call: str, act: Callable[[], Any]) -> Any:
        sent, self.sent = self.sent, ""  # what this call sent; a delete sends nothing but a name
        failure = self.write_failures.pop(0) if call in WRITES and self.write_failures else "ok"
        if failure == "rejected":
            self.calls.append(call)
            raise NodeRejected(400, f"{call}: cannot take {self.echo(sent)}")
        if failure == "unavailable":
            self.calls.append(call)
            raise NodeUnavailable(f"{call}: 502 Bad Gateway for {self.echo(sent)}")
        return super()._do(call, act)

    def create_job(self, toml: str) -> NodeJob:
        self.sent = toml
        return super().create_job(toml)

    def replace_job(self, job_id: str, toml: str) -> NodeJob:
        self.sent = toml
        return super().replace_job(job_id, toml)

    def create_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        self.sent = bridge.url
        return super().create_bridge(bridge)

    def update_bridge(self, bridge: DesiredBridge) -> NodeBridge:
        self.sent = bridge.url
        return super().update_bridge(bridge)


class SlimmingCache(FakeCache):
    """FakeCache that holds what the informers of World's node hold: each resource slimmed for that node
    (resource.slim_for_node: a few bytes of a job that targets another node)."""

    def store(self, obj: dict[str, Any]) -> None:
        super().store(
            obj if obj["kind"] == placement.KIND else slim_for_node(obj, NODE, {"chain": "sepolia"})
        )


class RecordingKube(FakeKube):
    """FakeKube that keeps every placement entry written, not only the last one of each."""

    def __init__(self, placements: Any) -> None:
        super().__init__(placements)
        self.entries: list[dict[str, Any]] = []

    def apply_placement(self, obj: Resource, entry: dict[str, Any]) -> dict[str, Any]:
        self.entries.append(copy.deepcopy(entry))
        return super().apply_placement(obj, entry)


class LogLines(logging.Handler):
    """The agent's log lines as its handler writes them (logs.JsonFormatter, which redacts), formatted when
    logged: inside the reconcile's redaction scope, as in production."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def agent_logs() -> Iterator[LogLines]:
    logger = logging.getLogger("chainlink_agent")
    handler, level = LogLines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Clock:
    """snapshot.py's clock, moved by the scenario's waits: a bridge relist is due only after one."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return time.time()


# Node calls one reconcile may make, from the code (jobs.py, bridges.py, plan.py, snapshot.py), whatever the
# spec names: writes, one per external job ID the resource owns (derived, hand-set, recorded: 3) or per
# bridge name it touches (desired, recorded, adopted: 3); point reads, a recheck before letting go of a job
# and one after a failed write (2), or one per bridge name after a failed bridge write (3); bridge lists, at
# most one (relist_bridges, and none within BRIDGE_RELIST_SECONDS of the last), plus a GET per bridge the
# snapshot held and that list lacks (snapshot._find_missed: the stale ones here). Never one per bridge named.
MAX_WRITES = 3
MAX_JOB_READS = 2
MAX_BRIDGE_READS = 3
MAX_BRIDGE_LISTS = 1


def secret_values(seed: int, hex_digits: int = 0) -> dict[str, str]:
    marker = "MARKER-" + high_entropy(seed, 16)
    uid = str(uuid.UUID(hex=high_entropy(seed + 1, 32, "0123456789abcdef")))
    values = {
        "value": marker,
        "url": f"https://ea.example/feed?token={marker}",
        "uuid": uid.upper() if seed % 2 else uid,
        "long": f"{marker}.{high_entropy(seed + 2, 80)}",
        "unicode": f"{marker}-stra\u00dfe-\u0130\u212a-\ufb01",  # ß, İ, the Kelvin sign, the fi ligature
    }
    if hex_digits:
        values["hex"] = high_entropy(seed + 3, hex_digits, "0123456789abcdef")
    return values


def leaks(values: Mapping[str, str], text: str) -> list[str]:
    """Which of values (or the marker's random part, or their SHA-256) text holds, in any case."""
    folded, undashed = text.lower(), text.lower().replace("-", "")
    found = []
    for key, value in values.items():
        forms = {value, value.split("-", 1)[1] if key == "value" else value}
        forms |= {hashlib.sha256(f.encode()).hexdigest() for f in (value, value.lower(), value.upper())}
        found += [f"{key}: {form!r}" for form in forms if form.lower() in folded]
        if key in ("uuid", "hex") and value.lower().replace("-", "") in undashed:
            found.append(f"{key}: as hex")
    return found


def add_resources(w: World, scenario: Scenario) -> tuple[list[str], list[str]]:
    """The scenario's jobs and bridges in the cache, as the watch would deliver them: their keys."""
    jobs = []
    for i, job in enumerate(scenario.jobs):
        fields: dict[str, Any] = {"suspend": job.suspend}
        if not job.targeted:
            fields["targets"] = {"names": ["node-b"]}
        if job.from_config_map:
            w.kube.config_maps["cm"][f"toml{i}"] = job.toml
            fields["tomlFrom"] = {"configMapKeyRef": {"name": "cm", "key": f"toml{i}"}}
            jobs.append(w.add_job(f"job{i}", **fields))
        else:
            jobs.append(w.add_job(f"job{i}", job.toml, **fields))
    bridges = [
        w.add_bridge(f"bridge{i}", bridgeName=b.name, confirmations=b.confirmations, **b.url)
        for i, b in enumerate(scenario.bridges)
    ]
    return jobs, bridges


@dataclass
class Play:
    """What the steps did that bounds the bridge lists, and what any reconcile raised."""

    restarts: int = 0
    waited: float = 0.0
    raised: list[str] = field(default_factory=list)


def play(w: World, clock: Clock, scenario: Scenario, jobs: list[str], bridges: list[str]) -> Play:
    """The scenario's steps, then every resource reconciled twice over."""
    played = Play()
    sweep = [("job", i) for i in range(len(jobs))] + [("bridge", i) for i in range(len(bridges))]
    for step, arg in [*scenario.steps, *sweep, *sweep]:
        keys = jobs if step in ("job", "edit", "delete job") else bridges
        key = keys[arg] if arg < len(keys) else None
        if step == "wait":
            clock.now += arg
            played.waited += arg
        elif step == "restart":
            w.restart()
            played.restarts += 1
        elif key is None:
            continue
        elif step in ("job", "bridge"):  # a deleted one too: what its placement records is removed
            played.raised += reconcile_within_bounds(w, key, len(scenario.stale))
        elif key not in w.cache.objects:
            continue
        elif step == "edit":  # a new generation: suspended, or resumed
            obj = w.cache.objects[key]
            obj["metadata"]["generation"] += 1
            obj["spec"]["suspend"] = not obj["spec"].get("suspend", False)
        else:
            w.delete(key)
    return played


def run(scenario: Scenario) -> list[dict[str, Any]]:
    """Plays the scenario and checks it; returns the placement entries written."""
    values = secret_values(scenario.seed, scenario.hex_digits)
    marker = values["value"]
    w = World(config_maps=("cm",), secrets=(SECRET,))
    w.cache = SlimmingCache()
    w.kube = RecordingKube(w.placements)
    w.node = HostileNode(scenario.write_failures, ECHOES[scenario.echo])
    w.kube.put_secret(SECRET, values)
    w.kube.put_secret(NOT_ALLOWED, values)  # in the namespace, not handed to this node
    w.kube.config_maps["cm"] = {"feed": "0xfeed"}
    if scenario.keys:
        w.node.key_facts = FACTS
    for name in scenario.by_hand:
        made_by_hand = marker.lower() if name == "MARKER" else name
        w.node.bridges[made_by_hand] = NodeBridge(made_by_hand, "http://by-hand")
    clock = Clock()
    with mock.patch.object(snapshot, "time", clock), agent_logs() as logs:
        w.restart()
        for name in scenario.stale:
            gone = marker.lower() if name == "MARKER" else name
            w.snapshot.put_bridge(NodeBridge(gone, "http://gone"))
        jobs, bridges = add_resources(w, scenario)
        played = play(w, clock, scenario, jobs, bridges)
    relists = played.waited // snapshot.BRIDGE_RELIST_SECONDS
    assert w.node.bridge_lists <= 1 + played.restarts + relists, "bridge lists over the cap"
    for reconciler in (w.jobs, w.bridges):  # the resources gauge's phase label
        assert set(reconciler.phases.values()) <= set(PHASES)
    seen = "\n".join(
        [json.dumps(w.kube.entries), json.dumps(list(w.placements.objects.values()))]
        + [f"{name} {kind} {reason}" for name, kind, reason in w.kube.events]
        + w.kube.event_messages
        + logs.lines
        + played.raised
    )
    found = leaks(values, seen)
    assert not found, f"Secret values in what a job author reads: {found}"
    for entry in (p.get("status") or {} for p in w.placements.objects.values()):
        sent = w.node.specs.get(entry.get("jobID", ""))
        if sent is not None and any(v.lower() in sent.lower() for v in values.values()):
            # specHash of the spec as sent would confirm a guess at the value (spec.py)
            assert entry["specHash"] != hashlib.sha256(sent.encode()).hexdigest()
    assert not played.raised, f"a reconcile raised: {played.raised}"
    return w.kube.entries


def reconcile_within_bounds(w: World, key: str, stale: int) -> list[str]:
    """One reconcile of key, in its own redaction scope (app.py), its node calls counted against the caps.
    Returns the description of what it raised, if it raised: the worker logs that."""
    calls, lists = len(w.node.calls), w.node.bridge_lists
    raised = []
    with redaction.scope():
        try:
            w.reconcile(key)
        except Exception as exc:  # the property: nothing is raised, and nothing leaks if it is
            raised.append("".join(traceback.format_exception(exc)))
    made = w.node.calls[calls:]
    writes = sum(call in WRITES for call in made)
    assert writes <= MAX_WRITES, made
    if key.startswith("chainlinkjobs/"):
        assert made.count("find_job") <= MAX_JOB_READS, made
        assert w.node.bridge_lists - lists <= MAX_BRIDGE_LISTS
        assert made.count("find_bridge") <= stale, made
    else:
        assert "find_job" not in made
        assert made.count("find_bridge") <= MAX_BRIDGE_READS, made
        assert w.node.bridge_lists == lists
    return raised


@settings(**FUZZ, max_examples=400 * SCALE)
@given(scenario=scenarios())
def test_no_spec_leaks_a_secret_value_raises_or_makes_node_calls_in_proportion_to_what_it_names(
    scenario: Scenario,
) -> None:
    """Jobs and bridges from job_tomls() and bridge_specs, reconciled in a drawn order with restarts,
    edits, deletions and waits, against a node that refuses or fails writes quoting what it was sent: no
    Secret value (in any case, or its random part, or its SHA-256) reaches a placement entry, an Event, a
    log line or a reconcile's error; no reconcile raises; and each makes at most the node calls above."""
    for entry in run(scenario):  # what the examples reach: pytest --hypothesis-show-statistics
        event(f"{entry['phase']} {entry['conditions'][0]['reason']}")


# FINDING_HEX (fixed: the ID must be the same without the Secret values): a Secret value of hex digits (an
# API key's usual shape) shorter than a UUID could be spliced into the externalJobID with the author's digits:
# `externalJobID = "{{ secret "ea" "hex" }}0000000000000000"` for 16 digits, or
# `"{{ secret "ea" "hex" }}-0000-4000-8000-000000000000"` for 8. uuid.UUID (and the node's uuid.Parse) take
# either; redaction.is_secret_uuid compared whole values only, so the job was made, and the
# placement's externalJobID (written ahead, then Synced) held the value: status fields are not redacted,
# only messages. The JobCreated Event quoted the ID too, with dashes inserted, which redaction misses (for 8
# digits at the front it was redacted there, and still in the placement). Minimal: the example below.
HEX_LEAK = Scenario(
    seed=0,
    jobs=[
        JobSpec(
            'type = "webhook"\nschemaVersion = 1\nexternalJobID = "{{ secret "ea" "hex" }}0000000000000000"\n'
            'observationSource = """\nfetch [type=memo value="1"]\n"""\n',
            from_config_map=False,
            suspend=False,
            targeted=True,
        )
    ],
    bridges=[],
    steps=[],
    echo="as sent",
    write_failures=[],
    by_hand=[],
    stale=[],
    keys=False,
    hex_digits=16,
)


@settings(**FUZZ, **FINDING, max_examples=400 * SCALE)
@given(scenario=scenarios(hex_secret=True))
@example(HEX_LEAK)
def test_a_secret_of_hex_digits_spliced_into_an_external_job_id_reaches_no_status(scenario: Scenario) -> None:
    """FINDING_HEX: specs reconciled as in the property above, with a hex Secret an author pads to a UUID."""
    run(scenario)
