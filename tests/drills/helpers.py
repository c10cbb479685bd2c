"""Small helpers the drills share, and how long a drill runs.

CI runs the short version; `CHAINLINK_DRILL=long` (the benchmark's setting) makes every drill longer:
more resources, more kills, longer outages."""

from __future__ import annotations

import os
from typing import Any

from chainlink_agent.model.errors import NodeError
from chainlink_agent.model.nodetypes import NodeJob
from chainlink_agent.node.nodeclient import NodeClient

from devkit.harness import Jobs, eventually

LONG = os.environ.get("CHAINLINK_DRILL", "short") == "long"


def scale(short: float, long: float) -> float:
    return long if LONG else short


def on_node(person: NodeClient) -> dict[str, NodeJob] | None:
    """The node's jobs by external job ID, through one long-lived client (a fresh client per poll would
    log in every time and trip the node's login rate limit); None while the node does not answer."""
    try:
        return {job.external_job_id: job for job in person.list_jobs()}
    except NodeError:
        return None


def entry_in(jobs: Jobs, name: str, node: str, phase: str, reason: str | None = None, timeout: float = 30):
    """Waits until the node's status entry has `phase` (and Synced condition `reason`); returns it."""

    def check() -> dict[str, Any] | None:
        entry = jobs.entry(name, node)
        if not entry or entry["phase"] != phase:
            return None
        if reason is not None and entry["conditions"][0]["reason"] != reason:
            return None
        return entry

    return eventually(check, timeout, f"{name} {phase}/{reason} on {node}")
