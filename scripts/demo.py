"""The main job on a local default: a real control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok), two Chainlink node doubles (or, with --real-nodes, two real v2.23.0 nodes on a throwaway
Postgres), one chart release per node, each node's agent, and the samples (a bridge, plain jobs, a job that
waits for the bridge, a job templated with each node's keys, and one the node refuses); then
`kubectl get chainlinkjobs` shows where each job stands on each node.

kwok runs no containers, so each agent runs here as a process, with the token of the ServiceAccount its
release made (exactly the chart's RBAC) and the node's URL in place of 127.0.0.1:6688.

    python scripts/demo.py [--keep] [--real-nodes]     (scripts/demo.sh sets up the machine first)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.controlplane import ControlPlane  # noqa: E402
from tests.integration.harness import AgentProcess, allow, eventually  # noqa: E402
from tests.nodedouble.fixtures import NodeDoubleProcess  # noqa: E402
from tests.realnode.fixtures import RealNodes  # noqa: E402
from tests.realnode.node import RealNode, ocr2_config  # noqa: E402
from tests.realnode.postgres import Postgres  # noqa: E402

NAMESPACE = "chainlink"
NODES = {"node-a": {"chain": "sepolia", "region": "eu"}, "node-b": {"chain": "sepolia", "region": "us"}}
EXPECTED = {
    "hello-webhook": {"node-a": "Synced"},
    "heartbeat": dict.fromkeys(NODES, "Synced"),
    "price-webhook": {"node-a": "Synced"},  # waits for the ChainlinkBridge "price" first
    "eth-usd-ocr2": dict.fromkeys(NODES, "Synced"),  # each node's own keys, templated in
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep everything running until Ctrl-C")
    parser.add_argument("--dir", type=Path, default=ROOT / ".bench" / "demo")
    parser.add_argument(
        "--real-nodes", action="store_true", help="real Chainlink nodes (scripts/tools.sh builds them)"
    )
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    postgres = Postgres.start() if args.real_nodes else None
    try:
        return demo(args, RealNodes(postgres, args.dir / "real-nodes") if postgres else None)
    finally:
        if postgres:
            postgres.stop()


def demo(args: argparse.Namespace, real_nodes: RealNodes | None) -> int:
    doubles: list[NodeDoubleProcess | RealNode] = []
    agents: list[AgentProcess] = []
    with ControlPlane(args.dir / "cluster", full=True) as cluster:
        env = cluster.env()

        def sh(*cmd: str, echo: bool = True) -> str:
            if echo:
                print("$", " ".join(cmd), flush=True)
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if out.returncode:
                raise SystemExit(f"demo: {cmd[0]} failed:\n{out.stdout}{out.stderr}")
            return out.stdout

        try:
            for node, labels in NODES.items():
                work = args.dir / node
                work.mkdir()
                # Each node its own Sepolia keys, as real nodes have.
                doubles.append(
                    # Sepolia and OCR2, for the samples' templated OCR2 job.
                    real_nodes.start(node, ocr2_config("11155111"))
                    if real_nodes
                    else NodeDoubleProcess.start(work, "--evm-chain-id", "11155111", "--key-seed", node)
                )
                sh(
                    "helm",
                    "install",
                    node,
                    str(ROOT / "charts" / "chainlink-node"),
                    "-n",
                    NAMESPACE,
                    "--create-namespace",
                    "--wait",
                    "--timeout",
                    "3m",
                    "--set",
                    f"nodeName={node}",
                    "--set-json",
                    f"nodeLabels={json.dumps(labels)}",
                    # The sample bridge's URL comes from this Secret (samples/bridge-price.yaml).
                    "--set",
                    "agent.allowedSecrets={price-adapter}",
                )
                kubeconfig = cluster.service_account_kubeconfig(NAMESPACE, f"{node}-chainlink-node-agent")
                agents.append(
                    AgentProcess(
                        work,
                        str(kubeconfig),
                        NAMESPACE,
                        node,
                        doubles[-1].url,
                        doubles[-1].email,
                        doubles[-1].password,
                        labels,
                        30,
                        allow(secrets=("price-adapter",)),
                    ).start()
                )
            for sample in sorted((ROOT / "samples").glob("*.yaml")):
                sh("kubectl", "apply", "-n", NAMESPACE, "-f", str(sample))
            try:
                eventually(
                    lambda: all(_phases(sh, name) == want for name, want in EXPECTED.items()),
                    60,
                    "the sample jobs to be Synced",
                )
            except AssertionError as exc:
                entries = "{range .items[*]}{.metadata.name}{': '}{.status.nodes[*].message}{'\\n'}{end}"
                print(sh("kubectl", "get", "chainlinkjobs", "-n", NAMESPACE, "-o", f"jsonpath={entries}"))
                raise SystemExit(f"demo: {exc}") from None
            time.sleep(1)
            print(sh("kubectl", "get", "chainlinkjobs", "-n", NAMESPACE))
            print(sh("kubectl", "get", "chainlinkbridges", "-n", NAMESPACE))
            print(
                sh(
                    "kubectl",
                    "get",
                    "events",
                    "-n",
                    NAMESPACE,
                    "--field-selector",
                    "involvedObject.kind=ChainlinkJob",
                    "--sort-by=.lastTimestamp",
                )
            )
            print(sh("helm", "list", "-n", NAMESPACE))
            if args.keep:
                print(f"export KUBECONFIG={cluster.kubeconfig} PATH={env['PATH'].split(':')[0]}:$PATH")
                print("running; Ctrl-C stops everything", flush=True)
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            for agent in agents:
                agent.stop()
            for double in doubles:
                double.stop()
    return 0


def _phases(sh: Callable[..., str], name: str) -> dict[str, str]:
    out = sh(
        "kubectl", "get", "chainlinkjob", name, "-n", NAMESPACE, "-o", "jsonpath={.status.phases}", echo=False
    )
    phases: dict[str, str] = json.loads(out or "{}")
    return phases


if __name__ == "__main__":
    sys.exit(main())
