"""docs/operating.md's Configuration table names every CHAINLINK_AGENT_* setting, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from chainlink_agent.runtime.environment import variables
from chainlink_agent.runtime.settings import Settings

PREFIX = "CHAINLINK_AGENT_"
OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"


def documented() -> set[str]:
    """The variables of the table's first column; `_X` after a full name is short for CHAINLINK_AGENT_X."""
    section = OPERATING.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (`[^|]*`) \|", section, re.MULTILINE):
        for name in re.findall(r"`([A-Z_]+)`", row):
            names.add(PREFIX + name[1:] if name.startswith("_") else name)
    return names


def test_every_setting_is_in_the_configuration_table_and_every_row_is_a_setting():
    settings = {name for field in Settings.model_fields.values() for name in variables(field)}
    assert settings - documented() == set(), "settings missing from docs/operating.md"
    assert documented() - settings == set(), "docs/operating.md names variables the agent does not read"
