"""Optional sampling profiles of the agent process (py-spy from PyPI: `pip install py-spy`), one per phase,
summarised as the share of busy samples per function (py-spy leaves idle threads out)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


class Profiler:
    def __init__(self, out: Path, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled and shutil.which("py-spy") is not None
        self.summaries: dict[str, dict[str, Any]] = {}

    @contextmanager
    def phase(self, name: str, pid: int) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        path = self.out / f"profile-{name}.txt"
        argv = ["py-spy", "record", "-f", "raw", "-r", "100", "--nonblocking", "-o", str(path)]
        proc = subprocess.Popen([*argv, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if path.exists():
                self.summaries[name] = summarise(path)


def _frame(text: str) -> str:
    match = FRAME.match(text)
    if not match:
        return text
    file = match["file"]
    if "chainlink_agent/" in file:
        file = "chainlink_agent/" + file.split("chainlink_agent/", 1)[1]
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{file}:{match['func']}"


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    """Inclusive share of the agent's own functions, and the top leaf (self-time) functions overall."""
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        leaves[frames[-1]] += count
    share = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "busy_samples": total,
        "agent_inclusive_pct": dict(
            [(f, share(n)) for f, n in inclusive.most_common() if f.startswith("chainlink_agent/")][: top * 2]
        ),
        "top_inclusive_pct": {f: share(n) for f, n in inclusive.most_common(top * 3)},
        "top_self_pct": {f: share(n) for f, n in leaves.most_common(top)},
    }
