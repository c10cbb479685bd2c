"""Every log call's extra fields: a key LogRecord already has raises KeyError at the call, which in an
error path turns a logged failure into a crash (a recheck logging "name" once did)."""

import ast
import logging
from pathlib import Path

import chainlink_agent

RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def test_no_log_call_passes_a_field_logrecord_reserves():
    clashes = []
    for path in Path(chainlink_agent.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "extra" and isinstance(node.value, ast.Dict):
                names = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
                clashes += [f"{path.name}:{node.value.lineno} {n}" for n in names if n in RESERVED]
    assert clashes == []
