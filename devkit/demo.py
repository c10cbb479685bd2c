"""The main job on a local default: a real control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok), two Chainlink node doubles (or, with --real-nodes, two real v2.23.0 nodes on a throwaway
Postgres), one chart release per node, each node's agent, and the samples (a bridge, plain jobs, a job that
waits for the bridge, a job templated with each node's keys, and one the node refuses); then
`kubectl get chainlinkjobs` shows where each job stands on each node, `kubectl get chainlinknodes` each
node, and `chainlink-agent don` the nodes' values for an OCR2 on-chain config.

kwok runs no containers, so each agent runs here as a process, with the token of the ServiceAccount its
release made (exactly the chart's RBAC) and the node's URL in place of 127.0.0.1:6688.

With --real-pods a kubelet node on containerd takes kwok's place (root needed) and the chart runs for real:
each release's StatefulSet runs the real node (v2.23.0), its agent sidecar and Postgres from images built
here (devkit/cluster/images.py); nothing runs beside the cluster.

    python -m devkit.demo [--keep] [--real-nodes | --real-pods]     (scripts/demo.sh sets up the machine)
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

from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.images import CURL_VERSION
from devkit.cluster.tools import REPO_ROOT as ROOT
from devkit.harness import AgentProcess, allow, eventually
from devkit.nodedouble.fixtures import NodeDoubleProcess
from devkit.realnode.fixtures import RealNodes
from devkit.realnode.node import RealNode, ocr2_config
from devkit.realnode.postgres import Postgres

NAMESPACE = "chainlink"
# On real pods the node in each pod needs what the samples use: Sepolia (at an unreachable RPC, as the
# real-node lane's nodes have it), OCR2 and the log poller for the templated OCR2 job (P2P is on by default);
# the test pods' image is Debian's curl under its own version (devkit/cluster/images.py).
POD_VALUES = [
    "--set-json",
    'node.evm=[{"ChainID":"11155111","Nodes":[{"Name":"primary","WSURL":"ws://127.0.0.1:9","HTTPURL":"http://127.0.0.1:9"}]}]',
    "--set-json",
    'node.config={"Feature":{"LogPoller":true},"OCR2":{"Enabled":true}}',
    f"--set=tests.image.tag={CURL_VERSION}",
]
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
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument(
        "--real-nodes", action="store_true", help="real Chainlink nodes (scripts/tools.sh builds them)"
    )
    shape.add_argument("--real-pods", action="store_true", help="the chart on real pods (a kubelet node)")
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    if args.real_pods:
        return demo_on_real_pods(args)
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
        sh = _shell(cluster.env())
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
                sh(*_install(node, labels), "--timeout", "3m")
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
                        {**allow(secrets=("price-adapter",)), "CHAINLINK_AGENT_REPORT_SECONDS": "5"},
                    ).start()
                )
            _apply_samples(sh)
            if args.keep:
                _keep(cluster)
        except KeyboardInterrupt:
            pass
        finally:
            for agent in agents:
                agent.stop()
            for double in doubles:
                double.stop()
    return 0


def _shell(env: dict[str, str]) -> Callable[..., str]:
    def sh(*cmd: str, echo: bool = True) -> str:
        if echo:
            print("$", " ".join(cmd), flush=True)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode:
            raise SystemExit(f"demo: {cmd[0]} failed:\n{out.stdout}{out.stderr}")
        return out.stdout

    return sh


def _install(node: str, labels: dict[str, str]) -> list[str]:
    return [
        "helm",
        "install",
        node,
        str(ROOT / "charts" / "chainlink-node"),
        "-n",
        NAMESPACE,
        "--create-namespace",
        "--wait",
        "--set",
        f"nodeName={node}",
        "--set-json",
        f"nodeLabels={json.dumps(labels)}",
        # The sample bridge's URL comes from this Secret (samples/bridge-price.yaml).
        "--set",
        "agent.allowedSecrets={price-adapter}",
        "--set",
        "agent.reportSeconds=5",
    ]


def _apply_samples(sh: Callable[..., str]) -> None:
    for sample in sorted((ROOT / "samples").glob("*.yaml")):
        sh("kubectl", "apply", "-n", NAMESPACE, "-f", str(sample))
    try:
        eventually(
            lambda: all(_phases(sh, name) == want for name, want in EXPECTED.items()),
            120,
            "the sample jobs to be Synced",
        )
    except AssertionError as exc:
        entries = "{range .items[*]}{.metadata.name}{': '}{.status.nodes[*].message}{'\\n'}{end}"
        print(sh("kubectl", "get", "chainlinkjobs", "-n", NAMESPACE, "-o", f"jsonpath={entries}"))
        raise SystemExit(f"demo: {exc}") from None
    time.sleep(1)
    print(sh("kubectl", "get", "chainlinkjobs", "-n", NAMESPACE))
    print(sh("kubectl", "get", "chainlinkbridges", "-n", NAMESPACE))
    events = [
        "kubectl",
        "get",
        "events",
        "-n",
        NAMESPACE,
        "--field-selector",
        "involvedObject.kind=ChainlinkJob",
    ]
    print(sh(*events, "--sort-by=.lastTimestamp"))
    print(sh("helm", "list", "-n", NAMESPACE))
    _show_nodes(sh)


def _show_nodes(sh: Callable[..., str]) -> None:
    """Once each node's ChainlinkNode counts what the jobs' status says is there (its agent reports every
    few seconds): the nodes, then the DON view of the Sepolia ones."""
    listed = json.loads(sh("kubectl", "get", "chainlinkjobs", "-n", NAMESPACE, "-o", "json", echo=False))
    jobs = [(item.get("status") or {}).get("phases") or {} for item in listed["items"]]

    def counted() -> bool:
        for node in NODES:
            phases = [p[node] for p in jobs if node in p]
            summary = f"{phases.count('Synced')}/{len(phases)}"
            path = "jsonpath={.status.jobs.summary} {.status.conditions[0].status}"
            out = sh("kubectl", "get", "chainlinknode", node, "-n", NAMESPACE, "-o", path, echo=False)
            if out.split() != [summary, "True"]:
                return False
        return True

    eventually(counted, 60, "each ChainlinkNode to count its jobs")
    print(sh("kubectl", "get", "chainlinknodes", "-n", NAMESPACE, "-o", "wide"))
    don = [sys.executable, "-m", "chainlink_agent", "don", "-n", NAMESPACE, "-l", "chain=sepolia"]
    print(sh(*don, "--evm-chain-id", "11155111"))


def _keep(cluster: ControlPlane) -> None:
    print(f"export KUBECONFIG={cluster.kubeconfig} PATH={cluster.bin_dir}:$PATH")
    print("running; Ctrl-C stops everything", flush=True)
    while True:
        time.sleep(3600)


def demo_on_real_pods(args: argparse.Namespace) -> int:
    with ControlPlane(args.dir / "cluster", real_pods=True) as cluster:
        sh = _shell(cluster.env())
        for node, labels in NODES.items():
            sh(*_install(node, labels), *POD_VALUES, "--timeout", "10m")
        try:
            _apply_samples(sh)
            print(sh("kubectl", "get", "pods", "-n", NAMESPACE, "-o", "wide"))
            if args.keep:
                _keep(cluster)
        except KeyboardInterrupt:
            pass
    return 0


def _phases(sh: Callable[..., str], name: str) -> dict[str, str]:
    out = sh(
        "kubectl", "get", "chainlinkjob", name, "-n", NAMESPACE, "-o", "jsonpath={.status.phases}", echo=False
    )
    phases: dict[str, str] = json.loads(out or "{}")
    return phases


if __name__ == "__main__":
    sys.exit(main())
