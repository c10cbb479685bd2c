"""A Secret used in a job's or a bridge's spec, against small fakes (tests/unit/fakes.py): its value, in any
case, reaches no status message, Event or log line, and no specHash lets a reader of the status confirm a
guess at it, while a Secret change still replaces the job, across agent restarts too. The same boundary on a
real apiserver, as the chart's ServiceAccount: tests/integration/test_trust_boundary.py."""

import hashlib
import json
import logging

import pytest
from chainlink_agent.model import redaction
from chainlink_agent.model.nodetypes import NodeBridge
from chainlink_agent.runtime.logs import JsonFormatter

from tests.unit.fakes import World

TOML = 'type = "webhook"\nschemaVersion = 1\nobservationSource = """\n    fetch [type=memo value="1"]\n"""\n'
VALUE = "Zz-Marker-7F3a9C41"  # mixed case: the node lowercases a bridge name
SECRET = '{{ secret "ea" "value" }}'


def calling(bridge: str) -> str:
    return TOML.replace('type=memo value="1"', f'type=bridge name="{bridge}"')


def fetching(url: str) -> str:
    return TOML.replace('type=memo value="1"', f'type=http method=GET url="{url}"')


def with_bridge(toml: str, bridge: str) -> str:
    """toml whose pipeline also calls this bridge."""
    return toml.replace("fetch [", f'p [type=bridge name="{bridge}"]\n    fetch [')


@pytest.fixture
def world():
    w = World(secrets=("ea",))
    w.kube.put_secret("ea", {"value": VALUE})
    with redaction.scope():  # as each worker reconciles a key (app.py)
        yield w


def everything_an_author_reads(w: World, caplog) -> str:
    """Every placement's status, every Event's message, and the agent's log lines as it writes them."""
    formatter = JsonFormatter()
    return "\n".join(
        [json.dumps([p.get("status") for p in w.placements.objects.values()])]
        + w.kube.event_messages
        + [formatter.format(record) for record in caplog.records]
    )


def leaks(text: str, value: str = VALUE) -> bool:
    return value.lower() in text.lower()


def test_a_secret_used_as_a_bridge_name_appears_in_no_case_in_status_events_or_logs(world, caplog):
    caplog.set_level(logging.INFO)
    job = world.add_job("named", calling(SECRET))
    assert world.reconcile(job)
    entry = world.entry(job)
    assert (entry["phase"], entry["conditions"][0]["reason"]) == ("Pending", "BridgeMissing")
    assert entry["conditions"][0]["message"] == "waiting for bridge [redacted]"
    # A literal name beside it is still named.
    other = world.add_job("both", with_bridge(calling(SECRET), "price"))
    assert world.reconcile(other)
    assert world.entry(other)["conditions"][0]["message"] == "waiting for bridges price, [redacted]"
    # The snapshot believes the bridge is there, the node does not: the node's error quotes it lowercased.
    world.node.bridges[VALUE.lower()] = NodeBridge(VALUE.lower(), "http://by-hand")
    world.snapshot.refresh()
    del world.node.bridges[VALUE.lower()]
    assert world.reconcile(job)
    message = world.entry(job)["conditions"][0]["message"]
    assert message == "waiting for bridges the node does not have: not all bridges exist: ['[redacted]']"
    assert not leaks(everything_an_author_reads(world, caplog))


def test_a_secret_that_makes_a_bridge_name_or_the_toml_invalid_is_not_quoted_even_in_part(world):
    # A name the node would refuse, long enough that the old message quoted only its first 64 characters.
    long_value = "Zz" + "-marker" * 12 + " and a space"
    world.kube.put_secret("ea", {"value": VALUE, "long": long_value, "quote": 'a"b'})
    job = world.add_job("long", calling('{{ secret "ea" "long" }}'))
    assert not world.reconcile(job)
    entry = world.entry(job)
    assert entry["conditions"][0]["reason"] == "InvalidBridgeName"
    assert not leaks(entry["conditions"][0]["message"], long_value[:40])
    # A value that breaks the TOML: the parser's message would say at which column, i.e. how long it is.
    job = world.add_job("quote", TOML + 'name = "{{ secret "ea" "quote" }}"\n')
    assert not world.reconcile(job)
    entry = world.entry(job)
    assert entry["conditions"][0]["reason"] == "InvalidTOML"
    assert "column" not in entry["conditions"][0]["message"]
    # The author's own mistake, beside a Secret, is still told: from the spec without the Secret's value.
    job = world.add_job("own", with_bridge(fetching(SECRET), "no/slash"))
    assert not world.reconcile(job)
    assert "'no/slash'" in world.entry(job)["conditions"][0]["message"]


def test_a_jobs_spec_hash_cannot_confirm_a_guess_at_a_secret_in_its_spec(world):
    job = world.add_job("fetches", fetching(f"https://ea.example/?token={SECRET}"))
    assert not world.reconcile(job)
    entry = world.entry(job)
    sent = world.node.specs[entry["jobID"]]
    assert VALUE in sent
    # What a reader of the status computes for a right guess: the spec as sent, which it can rebuild.
    assert entry["specHash"] != hashlib.sha256(sent.encode()).hexdigest()
    # The hash holds nothing of the value: another value under the same Secret version hashes the same.
    other = World(secrets=("ea",))
    version = world.kube.secrets["ea"].metadata.resource_version
    other.kube.put_secret("ea", {"value": "a-wholly-different-value"}, version=version)
    with redaction.scope():
        assert not other.reconcile(other.add_job("fetches", fetching(f"https://ea.example/?token={SECRET}")))
    assert other.entry(job)["specHash"] == entry["specHash"]
    # A job that reads no Secret keeps the hash it always had: an upgrade replaces none of those.
    plain = world.add_job("plain", TOML)
    assert not world.reconcile(plain)
    sent = world.node.specs[world.entry(plain)["jobID"]]
    assert world.entry(plain)["specHash"] == hashlib.sha256(sent.encode()).hexdigest()


def test_a_secret_changed_while_the_agent_was_down_replaces_the_job_once_and_a_restart_alone_nothing(world):
    job = world.add_job("fetches", fetching(f"https://ea.example/?token={SECRET}"))
    assert not world.reconcile(job)
    world.restart()
    assert not world.reconcile(job)
    assert world.node.calls == ["create_job"]
    world.kube.put_secret("ea", {"value": "rotated-value"})
    world.restart()
    assert not world.reconcile(job)
    assert world.node.calls == ["create_job", "replace_job"]
    assert "rotated-value" in world.node.specs[world.entry(job)["jobID"]]
    world.restart()
    assert not world.reconcile(job)
    assert world.node.calls == ["create_job", "replace_job"]


def test_a_bridges_spec_hash_does_not_hash_a_url_read_from_a_secret(world):
    url = f"https://ea.example/{VALUE}"
    world.kube.put_secret("ea", {"url": url})
    key = world.add_bridge("price", urlFrom={"secretKeyRef": {"name": "ea", "key": "url"}})
    assert not world.reconcile(key)
    entry = world.entry(key)
    assert world.node.bridges["price"].url == url
    guessed = json.dumps(["price", url, 0, None])  # the hash as it was: of the URL itself
    assert entry["specHash"] != hashlib.sha256(guessed.encode()).hexdigest()
    world.kube.put_secret("ea", {"url": url + "-rotated"})
    assert not world.reconcile(key)
    assert world.node.bridges["price"].url == url + "-rotated"
    assert world.entry(key)["specHash"] != entry["specHash"]
