"""SIGKILL the agent at random moments while resources are created, edited and deleted; after the last
restart the node's jobs must equal the desired set exactly: no duplicate, no orphan, every spec current."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import pytest
from chainlink_agent.model.resource import derived_external_job_id

from devkit.harness import eventually, toml

from .helpers import LONG, entry_in, on_node

pytestmark = pytest.mark.drill
NODE = "node-a"


class Churn:
    """Creates `total` resources, and meanwhile edits and deletes random live ones, at a steady pace."""

    def __init__(self, jobs, total: int, seconds: float, rng: random.Random) -> None:
        self.jobs, self.total, self.rng = jobs, total, rng
        self.pause = seconds / (total * 1.75)  # creates + ~1/2 as many edits + ~1/4 as many deletes
        self.live: dict[str, tuple[str, int]] = {}  # name -> (uid, spec version)
        self.deleted: set[str] = set()
        self.ops = {"create": 0, "edit": 0, "delete": 0}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="churn", daemon=True)

    def _run(self) -> None:
        try:
            made = 0
            while made < self.total:
                roll = self.rng.random()
                if roll < 0.57 or len(self.live) < 5:
                    name = f"churn-{made:04d}"
                    made += 1
                    made_now = self.jobs.create(name, toml(f"{name}-v0"), targets={"names": [NODE]})
                    self.live[name] = (made_now["metadata"]["uid"], 0)
                    self.ops["create"] += 1
                elif roll < 0.86:
                    name = self.rng.choice(sorted(self.live))
                    uid, version = self.live[name]
                    self.jobs.patch_spec(name, {"toml": toml(f"{name}-v{version + 1}")})
                    self.live[name] = (uid, version + 1)
                    self.ops["edit"] += 1
                else:
                    name = self.rng.choice(sorted(self.live))
                    self.jobs.delete(name)
                    del self.live[name]
                    self.deleted.add(name)
                    self.ops["delete"] += 1
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc


@pytest.mark.parametrize("start_node", ["double", "real"], indirect=True)
def test_random_sigkill_during_churn(jobs, start_node, start_agent):
    seed = int(os.environ.get("CHAINLINK_DRILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)  # noqa: S311 - a replayable schedule, not a secret
    total, kills, seconds = (300, 12, 90.0) if LONG else (60, 3, 15.0)
    node = start_node()
    person = node.client()
    agent = start_agent(NODE, node)
    churn = Churn(jobs, total, seconds, rng)
    churn.thread.start()
    survived = 0
    # Kills spread over the churn, each after the restarted agent ran 1-4 s (before or after its first
    # list: both are moments a real crash can hit); spaced so restarts stay within the login rate limit.
    for _ in range(kills):
        time.sleep(rng.uniform(1.0, max(1.5, seconds / kills)))
        agent.kill()
        time.sleep(rng.uniform(0.0, 1.0))
        agent.start(wait_ready=False)
        survived += 1
    churn.thread.join(seconds * 4)
    assert churn.error is None, f"churn failed (seed {seed}): {churn.error!r}"
    assert not churn.thread.is_alive()

    wanted = {derived_external_job_id(uid, NODE): f"{name}-v{v}" for name, (uid, v) in churn.live.items()}

    def converged():
        jobs_now = on_node(person)
        if jobs_now is None:
            return None
        names = {ext: job.name for ext, job in jobs_now.items()}
        gone = all(jobs.cleaned(name) for name in churn.deleted)
        return names == wanted and gone and names

    try:
        eventually(converged, 180 if LONG else 60, "the node's jobs to equal the desired set")
    finally:
        print(f"\nseed {seed}: {churn.ops}, {survived} kills survived, agent log {agent.log_path}")
    jobs_now = on_node(person) or {}
    orphans = set(jobs_now) - set(wanted)
    per_resource = Counter((job.name or "").rsplit("-v", 1)[0] for job in jobs_now.values())
    duplicates = {name: n for name, n in per_resource.items() if n > 1}
    assert (orphans, duplicates) == (set(), {})
    assert len(jobs_now) == len(churn.live)
    # Every live resource says so in its status, with the node's job ID.
    for name, (uid, _) in churn.live.items():
        entry = entry_in(jobs, name, NODE, "Synced")
        assert entry["jobID"] == jobs_now[derived_external_job_id(uid, NODE)].id
