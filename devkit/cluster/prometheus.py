"""A real Prometheus server for the bench (built by scripts/tools.sh): it scrapes the targets and evaluates
the rule groups it is given, on a free loopback port, with its database in ``DIR/tsdb``.

    with Prometheus(tmp_dir, {"global": {...}, "scrape_configs": [...]}, rule_groups) as prometheus:
        prometheus.alerts()                      # /api/v1/alerts: each active alert with its state

``DIR/logs/prometheus.log`` has its output; ``DIR/components.json`` lists its pid for
``python -m devkit.cluster down --dir DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from devkit.cluster.controlplane import free_ports
from devkit.cluster.process import BenchServer


class Prometheus(BenchServer):
    """``prometheus`` with ``config`` (prometheus.yml as a dict, without rule_files) and ``rule_groups``
    (the ``groups`` of a rule file)."""

    BINARY = "prometheus"

    def __init__(
        self,
        directory: Path,
        config: dict[str, Any],
        rule_groups: list[dict[str, Any]] | None = None,
        *,
        bin_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(directory, bin_dir, timeout)
        self.config, self.rule_groups = config, rule_groups or []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **params: str | float) -> Any:
        """The ``data`` of an API answer."""
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()["data"]

    def alerts(self) -> list[dict[str, Any]]:
        """Every pending or firing alert, with its ``labels`` and ``state``."""
        return list(self.get("/api/v1/alerts")["alerts"])

    def _command(self, binary: Path) -> list[str]:
        rules = self.directory / "rules.yml"
        rules.write_text(yaml.safe_dump({"groups": self.rule_groups}))
        config = self.directory / "prometheus.yml"
        config.write_text(yaml.safe_dump({**self.config, "rule_files": [str(rules)]}))
        self.port = free_ports(1)[0]
        return [
            str(binary),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.directory / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def _not_ready(self) -> str | None:
        status = httpx.get(f"{self.url}/-/ready", timeout=1).status_code
        return None if status == 200 else f"GET /-/ready answered {status}"
