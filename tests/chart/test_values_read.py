"""Every value of values.yaml is read by a template: a key whose name no template (nor values.schema.json's
own rules) mentions is read by none, and documents a setting that does nothing."""

from __future__ import annotations

import re

from devkit.chart import CHART
from tests.chart import values_table

TEMPLATES = "\n".join(
    path.read_text(encoding="utf-8")
    for path in sorted((CHART / "templates").rglob("*"))
    if path.suffix in (".yaml", ".tpl", ".txt")
)


def test_every_documented_value_is_named_by_a_template() -> None:
    entries = values_table.parse((CHART / "values.yaml").read_text(encoding="utf-8"))
    # A template reads a key as .key, or by its name in quotes (index, hasKey, dig, get).
    unread = [
        e.key for e in entries if not re.search(rf'[."]{re.escape(e.key.rsplit(".", 1)[-1])}\b', TEMPLATES)
    ]
    assert unread == []
