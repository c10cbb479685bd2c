"""One JSON object per log line. Only the fields code passes explicitly are logged, and no code path passes
a credential, a cookie or a job's TOML: that is what keeps secrets out of the logs. Values read from
Secrets for a spec are also redacted from every line (redaction.py), should a node error quote one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from chainlink_agent.model import redaction

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redaction.redact(json.dumps(entry, default=str))


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs every request line at DEBUG, query string included (a key import's password there); the
    # agent's own metrics cover the calls.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
