"""Every link in the project's Markdown resolves: a file or folder of the repository, and the heading an
anchor names (as GitHub makes a heading's anchor). Links out of the repository (http, https, mailto) are not
followed: these machines reach no website."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.markdown import anchors, prose

ROOT = Path(__file__).resolve().parents[2]
# The repository's own pages: what git tracks (not a tool's README in a cache folder).
PAGES = sorted(
    ROOT / name
    for name in subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
)
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def broken(page: Path) -> list[str]:
    problems = []
    for line in prose(page.read_text(encoding="utf-8")):
        for match in LINK.finditer(line):
            target = match.group(1) or match.group(2)
            if re.match(r"^(https?|mailto):", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                problems.append(f"{target}: no such file or folder")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                problems.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_of_the_page_resolves(page: Path) -> None:
    assert broken(page) == []
