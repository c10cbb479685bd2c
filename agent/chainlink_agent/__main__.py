"""chainlink-agent [run | release-node]: the sidecar process, or the uninstall hook's cleanup."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from kubernetes import client, config
from pydantic import ValidationError

from . import logs
from .app import Agent
from .kube import Kube
from .metrics import Metrics
from .release import release_node
from .settings import Credentials, Settings

log = logging.getLogger("chainlink_agent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chainlink-agent", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "release-node"])
    args = parser.parse_args(argv)
    try:
        settings = Settings()  # type: ignore[call-arg]  # filled from the environment
    except ValidationError as exc:
        print(
            f"chainlink-agent: invalid configuration (CHAINLINK_AGENT_* environment):\n{exc}", file=sys.stderr
        )
        return 2
    logs.configure(settings.log_level)
    api_client = _kube_client()
    if args.command == "release-node":
        kube = Kube(api_client, settings.namespace, settings.node_name)
        release_node(kube, settings.statefulset, settings.release_wait_seconds)
        return 0
    try:
        credentials = Credentials.from_file(settings.credentials_file)
    except ValueError as exc:
        print(f"chainlink-agent: {exc}", file=sys.stderr)
        return 2
    agent = Agent(settings, api_client, credentials, Metrics())

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received", extra={"signal": signal.Signals(signum).name})
        agent.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    agent.run()
    return 0


def _kube_client() -> client.ApiClient:
    """In a pod the ServiceAccount token; elsewhere (the bench, a laptop) KUBECONFIG."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


if __name__ == "__main__":
    sys.exit(main())
