"""The agent's two caches at N objects, measured with tracemalloc: an informer of ChainlinkJobs and one of
this node's ChainlinkPlacements, each filled by a list of objects shaped as the bench's; then M ChainlinkJobs
of a 62 KB TOML each, targeting this node and then no node (issue 28 item 8: any job author can make the
latter, and every agent of the namespace caches them); and M of a 62 KB TOML whose text is random, which the
cache's deflate (k8s/packing.py) cannot shrink the way it shrinks the repetitive one, targeting this node.

    python -m bench.cache_memory [N [M]]
"""

from __future__ import annotations

import random
import sys
import threading
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

from chainlink_agent.k8s.informer import Informer, View, own_placements, resources
from chainlink_agent.model import placement
from chainlink_agent.model.conditions import Outcome, now, placement_status
from chainlink_agent.model.resource import PLURAL, ChainlinkJob
from chainlink_agent.runtime.metrics import Metrics

from devkit.harness import toml

NODE = "node-a"


class Listed:
    """A Kube that answers one list with the given objects."""

    node = NODE

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def list_objects(
        self, plural: str, convert: Any, label_selector: str | None = None
    ) -> tuple[list[Any], str]:
        return [convert(obj) for obj in self.items], "1"


def job(i: int) -> dict[str, Any]:
    name = f"bench-{i:05d}"
    return {
        "apiVersion": "chainlink-k8s.github.io/v1alpha1",
        "kind": "ChainlinkJob",
        "metadata": {
            "name": name,
            "namespace": "bench",
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "resourceVersion": str(1000 + i),
            "creationTimestamp": "2026-12-01T18:00:00Z",
        },
        "spec": {"toml": toml(name), "targets": {"names": [NODE]}},
        "status": {"nodes": [{"node": NODE, "phase": "Synced"}], "phases": {NODE: "Synced"}},
    }


def big_job(i: int, targets: list[str], random_text: bool = False) -> dict[str, Any]:
    """A webhook job of a 62 KB TOML (a long observationSource, the issue's shape) naming `targets`; with
    random_text, as many bytes of comments of random characters before a one-task observationSource."""
    obj = job(i)
    obj["metadata"]["name"] = name = f"big-{i:05d}"
    tasks = "".join(
        f'    fetch{t} [type=http method=GET url="https://feeds.example.com/v1/prices/{t}?pair=ETH-USD"]\n'
        f'    parse{t} [type=jsonparse path="data,result,price,{t}"]\n'
        for t in range(405)
    )
    comments = ""
    if random_text:
        comments, tasks = (
            random_comments(len(tasks.encode()), random.Random(i)),
            "    fetch0 [type=memo value=1]\n",
        )
    head = f'type = "webhook"\nschemaVersion = 1\nname = "{name}"\n{comments}'
    source = f'{head}observationSource = """\n{tasks}"""\n'
    obj["spec"] = {"toml": source, "targets": {"names": targets}}
    obj["status"] = {}
    return obj


LINE_BYTES = 2 + 32 * 3 + 1  # "# ", 32 characters of three UTF-8 bytes, "\n"


def random_comments(size: int, rng: random.Random) -> str:
    """TOML comment lines of CJK characters drawn at random, at least `size` bytes of UTF-8."""
    lines: list[str] = []
    while len(lines) * LINE_BYTES < size:
        lines.append("# " + "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(32)) + "\n")
    return "".join(lines)


def placed(obj: dict[str, Any], i: int) -> dict[str, Any]:
    name = obj["metadata"]["name"]
    outcome = Outcome(
        "Synced", "JobSynced", f"job {i} runs generation 1's spec", str(i), str(uuid.uuid4()), "a" * 64
    )
    body = placement.body(ChainlinkJob.from_dict(obj), NODE, placement_status(1, outcome, None, now()))
    body["metadata"]["resourceVersion"] = str(20000 + i)
    body["metadata"]["name"] = placement.name("ChainlinkJob", name, NODE)
    return body


def cache_bytes(view: View, items: list[dict[str, Any]]) -> int:
    informer = Informer(Listed(items), lambda _key: None, Metrics(), threading.Event(), view)  # type: ignore[arg-type]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    informer._relist()
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    return grown


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    jobs = [job(i) for i in range(n)]
    kb = len(big_job(0, [])["spec"]["toml"].encode()) / 1000
    cases: list[tuple[str, View, Callable[[], list[dict[str, Any]]]]] = [
        ("ChainlinkJobs", resources(PLURAL, NODE, {}), lambda: jobs),
        (
            "this node's ChainlinkPlacements",
            own_placements(NODE),
            lambda: [placed(o, i) for i, o in enumerate(jobs)],
        ),
        # An agent holds the whole spec only of what targets its node (resource.slim_for_node).
        (
            f"ChainlinkJobs of {kb:.0f} KB TOML targeting this node",
            resources(PLURAL, NODE, {}),
            lambda: [big_job(i, [NODE]) for i in range(m)],
        ),
        (
            f"ChainlinkJobs of {kb:.0f} KB TOML targeting no node",
            resources(PLURAL, NODE, {}),
            lambda: [big_job(i, []) for i in range(m)],
        ),
        (
            f"ChainlinkJobs of {kb:.0f} KB TOML of random text targeting this node",
            resources(PLURAL, NODE, {}),
            lambda: [big_job(i, [NODE], random_text=True) for i in range(m)],
        ),
    ]
    for what, view, make in cases:
        items = make()  # one case's objects at a time: 400 of 62 KB are 25 MB
        grown = cache_bytes(view, items)
        print(f"{what}: {grown / 2**20:.2f} MiB for {len(items)}, {grown / max(len(items), 1):.0f} B each")


if __name__ == "__main__":
    main()
