"""The chart's alerts, exactly as templates/prometheusrule.yaml renders them, through promtool: `check rules`
for syntax and `test rules` for input series → expected alerts (alerts_test.yaml)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.chart.test_chart import CHART, run

from .conftest import render, tool

HERE = Path(__file__).parent
UNIT_TESTS = HERE / "alerts_test.yaml"


def spec(env: dict[str, str]) -> dict[str, Any]:
    return render(env, "prometheusrule.yaml", "metrics.prometheusRule.enabled=true")["spec"]


def rules(env: dict[str, str]) -> list[dict[str, Any]]:
    return [rule for group in spec(env)["groups"] for rule in group["rules"]]


def test_promtool_checks_and_unit_tests_pass(tools_env: dict[str, str], tmp_path: Path) -> None:
    promtool = tool(tools_env, "promtool")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec(tools_env)), encoding="utf-8")
    shutil.copy(UNIT_TESTS, tmp_path)
    run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], tools_env)
    output = run([promtool, "test", "rules", str(tmp_path / UNIT_TESTS.name)], tools_env)
    assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_quiet(tools_env: dict[str, str]) -> None:
    alerts = {rule["alert"] for rule in rules(tools_env)}
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    assert {c["alertname"] for c in cases if c["exp_alerts"]} == alerts
    assert {c["alertname"] for c in cases if not c["exp_alerts"]} == alerts


def test_every_alert_links_its_runbook_in_the_chart_readme(tools_env: dict[str, str]) -> None:
    base = yaml.safe_load((CHART / "values.yaml").read_text())["metrics"]["prometheusRule"]["runbookUrl"]
    assert base.endswith("/charts/chainlink-node/README.md")
    headings = re.findall(r"^#+ (\w+)$", (CHART / "README.md").read_text(), re.MULTILINE)
    for rule in rules(tools_env):
        assert rule["annotations"]["runbook_url"] == f"{base}#{rule['alert'].lower()}"
        assert rule["alert"] in headings, f"no runbook heading for {rule['alert']} in the chart README"
