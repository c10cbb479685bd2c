"""The README is the project's front door: what it is, the two commands, what the demo shows, the layout, and
links to the pages by reader (docs/). The manual lives in docs/; this keeps it from growing back."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 300


def test_the_readme_is_under_300_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    opening = text[: text.index("\n## ")]
    assert "bash scripts/demo.sh" in opening
    assert "bash scripts/test.sh" in opening
