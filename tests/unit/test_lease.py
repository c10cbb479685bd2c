"""Leader election on a Lease against an in-memory store that checks resourceVersions as the apiserver
does: one holder at a time, renewal, takeover only after the record stood still for its whole duration."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from chainlink_agent.k8s import lease
from chainlink_agent.k8s.lease import Election, LeaderCallbacks, Lease
from chainlink_agent.model.errors import Conflict, KubeUnavailable


class Store:
    def __init__(self) -> None:
        self.obj: dict[str, Any] | None = None
        self.version = 0

        self.reads = 0

    def lease(self, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self._answer()

    def write_lease(self, name: str, spec: dict[str, Any], resource_version: str | None) -> dict[str, Any]:
        if (resource_version is None) != (self.obj is None) or (
            resource_version is not None and resource_version != str(self.version)
        ):
            raise Conflict(409, "the object has been modified")
        self.version += 1
        self.obj = {"spec": spec}
        answer = self._answer()
        assert answer is not None
        return answer

    def _answer(self) -> dict[str, Any] | None:
        return None if self.obj is None else {**self.obj, "metadata": {"resourceVersion": str(self.version)}}


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("chainlink_agent.k8s.lease.time.monotonic", lambda: now[0])
    return now


def test_one_candidate_leads_and_the_other_takes_over_only_after_the_holder_stops_renewing(clock):
    store = Store()
    a, b = Lease(store, "l", "node-a"), Lease(store, "l", "node-b")
    assert a.try_hold()
    assert not b.try_hold()
    clock[0] += lease.RENEW_SECONDS
    assert a.try_hold()  # renewed: b sees a new record and starts its wait again
    assert not b.try_hold()
    clock[0] += lease.DURATION_SECONDS - 1
    assert not b.try_hold()  # the record has not stood still for a whole duration yet
    assert not a.leading  # a stopped renewing: past its renew deadline it no longer leads
    clock[0] += 2
    assert b.try_hold()
    assert store.obj is not None
    assert store.obj["spec"]["holderIdentity"] == "node-b"
    assert store.obj["spec"]["leaseTransitions"] == 1


def test_a_lost_race_is_not_leading(clock):
    class Racing(Store):
        def lease(self, name: str) -> dict[str, Any] | None:
            read = super().lease(name)
            self.version += 1  # someone writes between this read and the candidate's write
            return read

    store = Racing()
    store.write_lease("l", {"holderIdentity": "", "renewTime": "x"}, None)  # an empty, released lease
    assert not Lease(store, "l", "node-a").try_hold()


def test_a_foreign_holder_claiming_years_is_taken_over_after_the_capped_duration(clock):
    # As a compromised sidecar wrote it (issue 28 item 6): another holder, and a 68-year duration.
    store = Store()
    years = {"holderIdentity": "forged", "renewTime": "2026-01-01T00:00:00.000000Z"}
    store.write_lease("l", {**years, "leaseDurationSeconds": 68 * 365 * 86400}, None)
    a = Lease(store, "l", "node-a")
    assert not a.try_hold()  # first sight of the record: its wait starts
    clock[0] += lease.MAX_DURATION_SECONDS - 1
    assert not a.try_hold()
    clock[0] += 2
    assert a.try_hold()
    assert store.obj is not None
    assert store.obj["spec"]["holderIdentity"] == "node-a"
    assert store.obj["spec"]["leaseDurationSeconds"] == lease.DURATION_SECONDS <= lease.MAX_DURATION_SECONDS


@pytest.mark.parametrize(
    ("claimed", "waited"),
    [
        (15, 15.0),
        (None, float(lease.DURATION_SECONDS)),
        (60, 60.0),
        (61, 60.0),
        (2**31 - 1, 60.0),
        (-5, 0.0),
        ("nan", 60.0),
        ("forever", float(lease.DURATION_SECONDS)),
    ],
)
def test_another_holders_duration_counts_for_at_most_the_cap(claimed, waited):
    assert lease.duration({"leaseDurationSeconds": claimed}) == waited


def test_a_candidate_that_may_not_lead_hands_on_a_lease_still_in_its_name_once() -> None:
    store = Store()
    first = Lease(store, "agg", "node-a-0")
    assert first.try_hold()
    again = Lease(store, "agg", "node-a-0")  # the same pod restarted, now beside a standby node
    again.release()
    written = store.version
    again.release()
    assert store.obj is not None
    assert store.obj["spec"]["holderIdentity"] == ""
    assert store.version == written  # looked once
    assert Lease(store, "agg", "node-b").try_hold()  # no wait for the duration


def test_a_leader_renews_without_reading_and_reads_again_once_someone_else_wrote(clock):
    store = Store()
    a = Lease(store, "l", "node-a")
    assert a.try_hold()
    reads = store.reads
    for _ in range(3):
        clock[0] += lease.RENEW_SECONDS
        assert a.try_hold()
    assert store.reads == reads  # each renewal one write, no GET
    store.version += 1  # someone else wrote (a release by hand, a compromised sidecar)
    clock[0] += lease.RENEW_SECONDS
    assert a.try_hold()  # the renewal's 409 lost nothing: it still leads within its deadline...
    clock[0] += lease.RENEW_SECONDS
    assert a.try_hold()  # ...and the next round reads, and renews
    assert store.reads == reads + 1


def test_an_election_starts_a_term_once_and_ends_it_when_its_candidate_may_no_longer_lead(clock):
    store = Store()
    calls: list[str] = []
    may_lead = [True]  # False: its node stands by (the chart's standby)
    election = Election(
        Lease(store, "l", "a-0"),
        LeaderCallbacks(lambda: calls.append("started"), lambda: calls.append("stopped")),
        lambda: may_lead[0],
    )
    assert election.round()
    clock[0] += lease.RENEW_SECONDS
    assert election.round()  # renewed: the same term
    may_lead[0] = False
    assert not election.round()
    assert calls == ["started", "stopped"]
    assert store.obj is not None
    assert store.obj["spec"]["holderIdentity"] == ""  # handed on at once


def unavailable(name: str, spec: dict[str, Any], resource_version: str | None) -> dict[str, Any]:
    raise KubeUnavailable(None, "connection refused")


def test_a_term_ends_when_its_lease_lapses_unrenewed(clock):
    store = Store()
    calls: list[str] = []
    election = Election(
        Lease(store, "l", "a-0"),
        LeaderCallbacks(lambda: calls.append("started"), lambda: calls.append("stopped")),
    )
    assert election.round()
    store.write_lease = unavailable  # type: ignore[method-assign]  # the apiserver stops answering
    clock[0] += lease.RENEW_DEADLINE_SECONDS
    assert not election.round()
    assert calls == ["started", "stopped"]


def test_a_leader_that_shuts_down_ends_its_term_and_hands_the_lease_on_at_once():
    store = Store()
    calls: list[str] = []
    stop = threading.Event()
    election = Election(
        Lease(store, "l", "a-0"),
        LeaderCallbacks(lambda: calls.append("started"), lambda: calls.append("stopped")),
    )
    running = threading.Thread(target=election.run, args=(stop,))
    running.start()
    while not calls:
        threading.Event().wait(0.01)
    stop.set()  # SIGTERM
    running.join(5)
    assert calls == ["started", "stopped"]
    assert store.obj is not None
    assert store.obj["spec"]["holderIdentity"] == ""  # the next candidate need not wait out 15 s
