"""A burst against the node's rate limit (the double's, scaled down to 20 calls per 5 s): the agent paces
itself, so every resource ends Synced, none ever shows Error while it only waits for its turn, and the node
refuses (almost) nothing."""

from __future__ import annotations

import threading

from chainlink_agent.model.resource import GROUP, PLURAL, VERSION

from devkit.harness import eventually, toml

LIMIT, PERIOD = 20, 5


def test_a_burst_at_the_nodes_limit_waits_its_turn_without_errors(jobs, start_node, start_agent):
    node = start_node("--rate-limit", f"{LIMIT}/{PERIOD}")
    pace = {
        "CHAINLINK_AGENT_NODE_RATE_LIMIT": str(LIMIT),
        "CHAINLINK_AGENT_NODE_RATE_PERIOD_SECONDS": str(PERIOD),
    }
    agent = start_agent("node-a", node, env=pace)
    names = [f"j{i:02d}" for i in range(45)]
    seen_errors: set[str] = set()
    done = threading.Event()

    def watch() -> None:  # what a person running `kubectl get chainlinkjobs -w` would see
        while not done.is_set():
            for item in jobs.api.list_namespaced_custom_object(*jobs_path(jobs))["items"]:
                phases = (item.get("status") or {}).get("phases") or {}
                if "Error" in phases.values():
                    seen_errors.add(item["metadata"]["name"])
            done.wait(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for name in names:
            jobs.create(name, toml(name), targets={"names": ["node-a"]})
        synced = lambda: all((jobs.entry(n, "node-a") or {}).get("phase") == "Synced" for n in names)  # noqa: E731
        eventually(synced, 120, "every resource Synced")
    finally:
        done.set()
        watcher.join()
    assert seen_errors == set()
    metrics = agent.metrics()
    refused = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("chainlink_agent_node_api_responses_total") and 'code="429"' in line
    )
    assert refused <= 1  # the pace and the node's window may meet once at a boundary
    throttled = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("chainlink_agent_node_api_throttled_seconds_total ")
    )
    assert throttled > 0  # it did wait for the node's windows
    assert len(node.client().list_jobs()) == len(names)


def jobs_path(jobs) -> tuple[str, str, str, str]:
    return GROUP, VERSION, jobs.namespace, PLURAL
