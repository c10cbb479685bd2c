"""The image installs from agent/requirements.lock, pinned by hash: it must still satisfy pyproject.toml,
so a dependency change there that forgets the lock fails here rather than in an image that differs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", re.MULTILINE)


def test_every_dependency_of_the_agent_is_pinned_in_the_lock_with_a_hash_and_in_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = (ROOT / "agent" / "requirements.lock").read_text()
    pins = {canonicalize_name(name): version for name, version in PIN.findall(lock)}
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in agent/requirements.lock: run the pip-compile line at its top"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
    # Every pin carries its hashes (pip's --require-hashes refuses the lock otherwise).
    assert lock.count(" \\\n    --hash=sha256:") >= len(pins)
