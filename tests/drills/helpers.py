"""Small helpers the drills share."""

from __future__ import annotations

from typing import Any

from chainlink_agent.model.errors import NodeError
from chainlink_agent.model.nodetypes import NodeJob
from chainlink_agent.node.nodeclient import NodeClient

from tests.integration.harness import Jobs, eventually


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
