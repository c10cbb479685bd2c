"""BASELINE FOR COMPARISON ONLY -- this is NOT the agent and must never be deployed.

A naive loop written for the benchmark, modelled on the seed operator's behaviour ("created the job again on
every reconcile"): every period it re-lists every ChainlinkJob in the namespace and the node's jobs, and for
each resource that names this node it deletes the job if the node has it and POSTs the spec again. No watch,
no cache, no status, no finalizers. It renders the TOML with the agent's own spec.render so that both make
byte-identical jobs (same external job IDs).

    python -m bench.naive --namespace NS --node-name N --node-url URL --credentials-file F [--period S]

Prints one JSON line per pass: {"pass", "started", "ended", "resources", "deleted", "created", "errors"}.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType

from chainlink_agent.model.errors import InvalidSpec, NodeError
from chainlink_agent.model.resource import GROUP, PLURAL, VERSION, derived_external_job_id
from chainlink_agent.model.spec import render
from kubernetes import client, config

from devkit.harness import node_client

_running = True


def _stop(signum: int, frame: FrameType | None) -> None:
    global _running  # noqa: PLW0603 - the signal handler's only way out of the loop
    _running = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--node-url", required=True)
    parser.add_argument("--credentials-file", required=True)
    parser.add_argument("--period", type=float, default=10.0, help="seconds to sleep after each pass")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    email, password = open(args.credentials_file).read().splitlines()[:2]  # noqa: SIM115
    config.load_kube_config()
    custom = client.CustomObjectsApi(client.ApiClient())
    node = node_client(args.node_url, email, password)
    number = 0
    while _running:
        number += 1
        started = time.time()
        deleted = created = errors = 0
        items = custom.list_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL)["items"]
        try:
            on_node = {job.external_job_id: job.id for job in node.list_jobs()}
        except NodeError:
            on_node, errors = {}, errors + 1
        for item in items:
            spec = item.get("spec") or {}
            if args.node_name not in ((spec.get("targets") or {}).get("names") or ()):
                continue
            try:
                rendered = render(
                    spec.get("toml") or "", derived_external_job_id(item["metadata"]["uid"], args.node_name)
                )
                if rendered.external_job_id in on_node:
                    node.delete_job(on_node[rendered.external_job_id])
                    deleted += 1
                node.create_job(rendered.toml)
                created += 1
            except (InvalidSpec, NodeError):
                errors += 1
            if not _running:
                break
        record = {
            "pass": number,
            "started": started,
            "ended": time.time(),
            "resources": len(items),
            "deleted": deleted,
            "created": created,
            "errors": errors,
        }
        print(json.dumps(record), flush=True)
        deadline = time.monotonic() + args.period
        while _running and time.monotonic() < deadline:
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
