"""A real Prometheus server for the bench (built by scripts/tools.sh): it scrapes the targets and evaluates
the rule groups it is given, on a free loopback port, with its database in ``DIR/tsdb``.

    with Prometheus(tmp_dir, {"global": {...}, "scrape_configs": [...]}, rule_groups) as prometheus:
        prometheus.alerts()                      # /api/v1/alerts: each active alert with its state

``DIR/logs/prometheus.log`` has its output; ``DIR/components.json`` lists its pid for
``python -m tests.cluster down --dir DIR``.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from tests.cluster.controlplane import free_ports
from tests.cluster.process import BenchError, Component, record_components
from tests.cluster.tools import tools_bin_dir

SERVER = "prometheus"


class Prometheus:
    """``prometheus`` with ``config`` (prometheus.yml as a dict, without rule_files) and ``rule_groups``
    (the ``groups`` of a rule file); ``start()`` and ``stop()``, or a context manager."""

    def __init__(
        self,
        directory: Path,
        config: dict[str, Any],
        rule_groups: list[dict[str, Any]] | None = None,
        *,
        bin_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.config, self.rule_groups = config, rule_groups or []
        self.bin_dir = bin_dir or tools_bin_dir()
        self.timeout = timeout
        self.port = 0
        self.component: Component | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        binary = self.bin_dir / SERVER
        if not binary.exists():
            raise BenchError(f"missing {SERVER} in {self.bin_dir}: run `bash scripts/tools.sh` first")
        atexit.register(self.stop)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            rules = self.directory / "rules.yml"
            rules.write_text(yaml.safe_dump({"groups": self.rule_groups}))
            config = self.directory / "prometheus.yml"
            config.write_text(yaml.safe_dump({**self.config, "rule_files": [str(rules)]}))
            self.port = free_ports(1)[0]
            self.component = Component(
                SERVER,
                [
                    str(binary),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.directory / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                self.directory / "logs" / f"{SERVER}.log",
            )
            self.component.start()
            record_components(self.directory, [self.component])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self.component is not None:
            self.component.stop()

    def get(self, path: str, **params: str | float) -> Any:
        """The ``data`` of an API answer."""
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()["data"]

    def alerts(self) -> list[dict[str, Any]]:
        """Every pending or firing alert, with its ``labels`` and ``state``."""
        return list(self.get("/api/v1/alerts")["alerts"])

    def _wait_ready(self) -> None:
        assert self.component is not None
        deadline = time.monotonic() + self.timeout
        while True:
            self.component.ensure_running()
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # refused until it listens
            if time.monotonic() > deadline:
                raise BenchError(self.component.describe(f"{SERVER} not ready within {self.timeout:.0f}s"))
            time.sleep(0.1)
