"""Fault drills: the integration fixtures (imported, not copied) plus how long a drill runs.

CI runs the short version; `CHAINLINK_DRILL=long` (the benchmark's setting) makes every drill longer:
more resources, more kills, longer outages."""

from __future__ import annotations

import os

from tests.integration.conftest import crd, jobs, start_agent, start_node

__all__ = ["LONG", "crd", "jobs", "scale", "start_agent", "start_node"]

LONG = os.environ.get("CHAINLINK_DRILL", "short") == "long"


def scale(short: float, long: float) -> float:
    return long if LONG else short
