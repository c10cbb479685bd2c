"""The chart's alerts, exactly as templates/prometheusrule.yaml renders them, through promtool: `check rules`
for syntax and `test rules` for input series → expected alerts (alerts_test.yaml; alerts_standby_test.yaml for
a release with standby.enabled, whose rules differ where a standby changes what "down" means;
alerts_backup_test.yaml for a release with backup.enabled, which adds ChainlinkBackupMissing)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from devkit import dashboard
from devkit.chart import CHART, run

from .rendering import NODE_MODULE, node_source, rules, spec, tool

HERE = Path(__file__).parent
UNIT_TESTS = HERE / "alerts_test.yaml"
STANDBY_UNIT_TESTS = HERE / "alerts_standby_test.yaml"
BACKUP_UNIT_TESTS = HERE / "alerts_backup_test.yaml"
STANDBY = "standby.enabled=true"
# A release with backups (the store and recipient are what the chart requires; the defaults do the rest).
BACKUP = (
    "backup.enabled=true",
    "backup.s3.endpoint=https://s3.example.com",
    "backup.s3.bucket=backups",
    "backup.s3.existingSecret=s3-credentials",
    "backup.ageRecipients[0]=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
)


# The node's own metrics the alerts read, each with the module of the node's build and the file in it that
# declares it (test_node_on_dev_chain.py finds each, with the labels the alerts read, on a real node).
FRAMEWORK = "github.com/smartcontractkit/chainlink-framework"
NODE_METRICS = {
    "eth_balance": ("github.com/smartcontractkit/chainlink-evm", "pkg/monitor/balance.go"),
    "head_tracker_current_head": (f"{FRAMEWORK}/chains", "heads/tracker.go"),
    "multi_node_states": (f"{FRAMEWORK}/multinode", "multi_node.go"),
    "pipeline_run_errors": (NODE_MODULE, "core/services/pipeline/runner.go"),
    "max_unconfirmed_tx_age": (NODE_MODULE, "core/services/headreporter/prometheus_reporter.go"),
}


def cases(path: Path) -> list[dict[str, Any]]:
    return [case for test in yaml.safe_load(path.read_text())["tests"] for case in test["alert_rule_test"]]


def test_promtool_checks_and_unit_tests_pass(tools_env: dict[str, str], tmp_path: Path) -> None:
    promtool = tool(tools_env, "promtool")
    for rule_file, sets, unit_tests in (
        ("rules.yaml", (), UNIT_TESTS),
        ("rules-standby.yaml", (STANDBY,), STANDBY_UNIT_TESTS),
        ("rules-backup.yaml", BACKUP, BACKUP_UNIT_TESTS),
    ):
        (tmp_path / rule_file).write_text(yaml.safe_dump(spec(tools_env, *sets)), encoding="utf-8")
        shutil.copy(unit_tests, tmp_path)
        run([promtool, "check", "rules", str(tmp_path / rule_file)], tools_env)
        output = run([promtool, "test", "rules", str(tmp_path / unit_tests.name)], tools_env)
        assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_quiet(tools_env: dict[str, str]) -> None:
    alerts = {rule["alert"] for rule in rules(tools_env)}
    tested = cases(UNIT_TESTS)
    assert {c["alertname"] for c in tested if c["exp_alerts"]} == alerts
    assert {c["alertname"] for c in tested if not c["exp_alerts"]} == alerts


def test_every_alert_a_standby_adds_or_changes_is_tested_firing_and_quiet(tools_env: dict[str, str]) -> None:
    plain = {rule["alert"]: rule for rule in rules(tools_env)}
    standby = {rule["alert"]: rule for rule in rules(tools_env, STANDBY)}
    assert set(plain) < set(standby)
    changed = {name for name, rule in standby.items() if plain.get(name) != rule}
    assert changed == {"ChainlinkNodeDown", "ChainlinkStandbyMissing"}
    tested = cases(STANDBY_UNIT_TESTS)
    assert {c["alertname"] for c in tested if c["exp_alerts"]} == changed
    assert {c["alertname"] for c in tested if not c["exp_alerts"]} == changed


def test_every_alert_backups_add_is_tested_firing_and_quiet(tools_env: dict[str, str]) -> None:
    plain = {rule["alert"]: rule for rule in rules(tools_env)}
    backup = {rule["alert"]: rule for rule in rules(tools_env, *BACKUP)}
    changed = {name for name, rule in backup.items() if plain.get(name) != rule}
    assert set(plain) < set(backup)
    assert changed == {"ChainlinkBackupMissing"}
    tested = cases(BACKUP_UNIT_TESTS)
    assert {c["alertname"] for c in tested if c["exp_alerts"]} == changed
    assert {c["alertname"] for c in tested if not c["exp_alerts"]} == changed


def test_every_alert_links_its_runbook_in_the_chart_readme(tools_env: dict[str, str]) -> None:
    base = yaml.safe_load((CHART / "values.yaml").read_text())["metrics"]["prometheusRule"]["runbookUrl"]
    assert base.endswith("/charts/chainlink-node/README.md")
    headings = re.findall(r"^#+ (\w+)$", (CHART / "README.md").read_text(), re.MULTILINE)
    for rule in rules(tools_env, STANDBY, *BACKUP):
        assert rule["annotations"]["runbook_url"] == f"{base}#{rule['alert'].lower()}"
        assert rule["alert"] in headings, f"no runbook heading for {rule['alert']} in the chart README"


def test_every_node_metric_an_alert_reads_is_declared_in_the_node_source(tools_env: dict[str, str]) -> None:
    read = {
        name
        for rule in rules(tools_env, STANDBY, *BACKUP)
        for name in dashboard.metric_names(rule["expr"])
        if name != "up" and not name.startswith("chainlink_agent_")
    }
    assert read == set(NODE_METRICS)
    for name, (module, path) in NODE_METRICS.items():
        declared = (node_source(module) / path).read_text()
        assert re.search(rf'Name:\s+"{name}"', declared), f"{name} is not declared in {module}/{path}"
