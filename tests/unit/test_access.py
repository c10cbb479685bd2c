"""The gates between a spec and a Secret or ConfigMap, and the redaction of what passes them."""

from __future__ import annotations

import logging
import time

import pytest
from chainlink_agent.control.access import ALLOWED_NODES, Allowlist
from chainlink_agent.model import redaction
from chainlink_agent.model.errors import InvalidSpec
from chainlink_agent.runtime.logs import JsonFormatter

ALLOW = Allowlist("node-a", frozenset({"ea"}), frozenset({"specs"}))


def refusal(check) -> tuple[str, str]:
    with pytest.raises(InvalidSpec) as caught:
        check()
    return caught.value.reason, caught.value.message


def test_a_name_the_chart_did_not_hand_over_is_refused_before_any_read():
    assert refusal(lambda: ALLOW.check_name("Secret", "node-b-secrets")) == (
        "SecretNotAllowed",
        "Secret 'node-b-secrets' is not one node node-a may read: list it in the chart value"
        " agent.allowedSecrets",
    )
    assert refusal(lambda: ALLOW.check_name("ConfigMap", "other"))[0] == "ConfigMapNotAllowed"
    ALLOW.check_name("Secret", "ea")
    ALLOW.check_name("ConfigMap", "specs")


@pytest.mark.parametrize(
    ("annotation", "allowed"),
    [
        (None, False),
        ("", False),
        ("node-b", False),
        ("node-b, node-a", True),
        ("*", True),
        ("node-ab", False),
    ],
)
def test_a_listed_secret_is_used_only_when_its_owner_names_this_node(annotation, allowed):
    annotations = {} if annotation is None else {ALLOWED_NODES: annotation}
    check = lambda: ALLOW.check_secret("ea", "Opaque", {}, annotations)  # noqa: E731
    if allowed:
        check()
    else:
        reason, message = refusal(check)
        assert reason == "SecretNotAllowed"
        assert ALLOWED_NODES in message


@pytest.mark.parametrize(
    ("secret_type", "labels"),
    [
        ("helm.sh/release.v1", {}),
        ("kubernetes.io/service-account-token", {}),
        ("Opaque", {"app.kubernetes.io/part-of": "chainlink-k8s"}),
    ],
)
def test_credentials_of_nodes_and_helm_are_refused_even_if_listed_and_annotated(secret_type, labels):
    reason, _ = refusal(lambda: ALLOW.check_secret("ea", secret_type, labels, {ALLOWED_NODES: "*"}))
    assert reason == "SecretNotAllowed"


def test_remembered_values_are_redacted_in_every_quoted_form_and_only_in_their_scope():
    with redaction.scope():
        redaction.remember('pa"ss\\word')
        redaction.remember("pa")
        text = 'raw pa"ss\\word, json pa\\"ss\\\\word, repr \'pa"ss\\\\word\', short pa'
        redacted = "raw [redacted], json [redacted], repr '[redacted]', short [redacted]"
        assert redaction.redact(text) == redacted
    assert redaction.redact("pa") == "pa"


def test_log_lines_are_redacted():
    record = logging.makeLogRecord({"msg": "node said", "error": "bad name s3cret-value"})
    with redaction.scope():
        redaction.remember("s3cret-value")
        line = JsonFormatter().format(record)
    assert "s3cret-value" not in line
    assert "[redacted]" in line


def test_a_remembered_value_is_redacted_in_whatever_case_the_node_prints_it():
    with redaction.scope():
        redaction.remember("Zz-Marker-7F3a")
        redaction.remember("Ünïcødé-Straße")
        redaction.remember("tab\\there")  # in a TOML string, its \t is a tab
        text = "a zz-marker-7f3a b ZZ-MARKER-7F3A c ünïcødé-straße d ÜNÏCØDÉ-STRAßE e tab\there"
        assert redaction.redact(text) == "a [redacted] b [redacted] c [redacted] d [redacted] e [redacted]"


def test_matches_that_overlap_or_touch_are_one_redaction_and_leave_no_piece_of_the_value():
    with redaction.scope():
        redaction.remember("abab")  # overlaps itself
        redaction.remember("aabaa")  # overlaps itself four apart, not only by its period of three
        assert redaction.redact("x ABABAB y") == "x [redacted] y"
        assert redaction.redact("x aabaaabaa y") == "x [redacted] y"
        assert redaction.redact("x ababaabaa y") == "x [redacted] y"


def test_redaction_costs_time_in_proportion_to_the_text_even_for_a_value_that_overlaps_itself():
    text = "x" * 65536  # the most a job's TOML holds, all of it matches
    with redaction.scope():
        redaction.remember("x" * 2000)
        redaction.remember("y" * 2000)
        started = time.perf_counter()
        assert redaction.redact(text) == "[redacted]"
        assert redaction.redact(text.replace("x", "y")) == "[redacted]"
        assert time.perf_counter() - started < 0.25  # about 0.04 s; from each match's next character, 1 s
