"""chainlink-agent [run | release-node | keys-toml OUT | don ... | backup | restore-fetch]: the sidecar
process, the uninstall hook's cleanup, the init container that writes the secrets TOML the node imports keys
from, the DON view (each selected node's values for an OCR2 on-chain config, from its ChainlinkNode), the
backup Job's upload, or the restore init container's download."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from kubernetes import client, config
from pydantic import ValidationError

from chainlink_agent.app import Agent
from chainlink_agent.control.release import release_node
from chainlink_agent.k8s.kube import ApiClient, Kube
from chainlink_agent.model.errors import KubeError
from chainlink_agent.node import keystoml
from chainlink_agent.runtime import logs
from chainlink_agent.runtime.metrics import Metrics
from chainlink_agent.runtime.settings import Credentials, Settings
from chainlink_agent.status import don
from chainlink_agent.wiring import wire

log = logging.getLogger("chainlink_agent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chainlink-agent", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="the sidecar (the default)")
    commands.add_parser("release-node", help="the uninstall hook's cleanup")
    keys = commands.add_parser("keys-toml", help="write the secrets TOML the node imports keys from")
    keys.add_argument("out", nargs="?", type=Path, help="the file to write")
    don_cmd = commands.add_parser("don", help="the selected nodes' values for an OCR2 on-chain config")
    don_cmd.add_argument("-l", "--selector", help="label selector over the ChainlinkNodes (their nodeLabels)")
    don_cmd.add_argument("-n", "--namespace", help="default: the kubeconfig context's namespace")
    don_cmd.add_argument("--chain-type", default="evm", help="the OCR2 key bundles' chain type (default evm)")
    don_cmd.add_argument(
        "--evm-chain-id", help="the transmitters' EVM chain ID (default: each node's first key)"
    )
    don_cmd.add_argument("-o", "--output", choices=["table", "json"], default="table")
    commands.add_parser("backup", help="the backup Job's upload: the dump FIFO, encrypted, to S3")
    commands.add_parser("restore-fetch", help="the restore init container's download of a backup")
    args = parser.parse_args(argv)
    # The commands that are not the sidecar, which read their own configuration.
    others: dict[str, Callable[[], int]] = {
        "keys-toml": lambda: _keys_toml(args.out),
        "don": lambda: _don(args),
        "backup": _backup,
        "restore-fetch": _restore_fetch,
    }
    if args.command in others:
        return others[args.command]()
    try:
        settings = Settings.from_environment()
    except ValidationError as exc:
        print(
            f"chainlink-agent: invalid configuration (CHAINLINK_AGENT_* environment):\n{exc}", file=sys.stderr
        )
        return 2
    logs.configure(settings.log_level)
    api_client = _kube_client()
    if args.command == "release-node":
        kube = Kube(api_client, settings.namespace, settings.node_name)
        release_node(
            kube, settings.statefulset, settings.release_wait_seconds, settings.release_after_rollout
        )
        return 0
    try:
        credentials = Credentials.from_file(settings.credentials_file)
    except ValueError as exc:
        print(f"chainlink-agent: {exc}", file=sys.stderr)
        return 2
    agent = Agent(wire(settings, api_client, credentials, Metrics()))

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received", extra={"signal": signal.Signals(signum).name})
        agent.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # What is loaded by now (the libraries, the wiring) lives as long as the process: out of the cyclic
    # collector's sight, a full collection no longer walks it again and again (20 % of a resync pass).
    gc.freeze()
    agent.run()
    return 0


def _keys_toml(out: Path | None) -> int:
    if out is None:
        print("chainlink-agent keys-toml: give the output file", file=sys.stderr)
        return 2
    try:
        count = keystoml.write(out)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # The message names a path or a rule, never a key or a password.
        print(f"chainlink-agent keys-toml: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"chainlink-agent keys-toml: wrote {count} key(s) for the node to import", file=sys.stderr)
    return 0


def _don(args: argparse.Namespace) -> int:
    try:
        namespace = args.namespace or _context_namespace()
        nodes = Kube(_kube_client(), namespace, node="").chainlink_nodes(args.selector)
        print(don.render(don.view(nodes, args.chain_type, args.evm_chain_id), args.output))
    except (don.DonError, KubeError, config.ConfigException) as exc:
        print(f"chainlink-agent don: {exc}", file=sys.stderr)
        return 1
    return 0


def _context_namespace() -> str:
    try:
        _, context = config.list_kube_config_contexts()
    except config.ConfigException:
        return "default"
    return str((context or {}).get("context", {}).get("namespace") or "default")


# Imported when run: the sidecar loads none of the backup modules (0.4 MiB of RSS), nor the S3 client and
# pyrage (which they import on first use only).
def _backup() -> int:
    from chainlink_agent.backups import backup  # noqa: PLC0415

    return backup.main(_recording_client)


def _restore_fetch() -> int:
    from chainlink_agent.backups import restore  # noqa: PLC0415

    return restore.main(_recording_client)


def _recording_client() -> client.ApiClient | None:
    """The backup Job records its result in the ChainlinkNode only where a Kubernetes API is configured on
    purpose: in a pod (the ServiceAccount token), or with KUBECONFIG set. Run elsewhere (by hand, the tests),
    it records nothing, and says so, rather than write to whatever cluster ~/.kube/config points at."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        if not os.environ.get("KUBECONFIG"):
            return None
        config.load_kube_config()
    return ApiClient()


def _kube_client() -> client.ApiClient:
    """In a pod the ServiceAccount token; elsewhere (the bench, a laptop) KUBECONFIG."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return ApiClient()
