"""A real node for the bench: containerd, kubelet, kube-proxy and CoreDNS running real pods on this machine.

Everything the node owns lives under ``DIR/node`` (containerd's root, state and socket, kubelet's root and
pod logs, the CNI config and its IP allocations). Pods sit on the bench's own bridge ``BRIDGE``
(``NODE_IP``/24): the kube-apiserver, the kubelet and CoreDNS listen on ``NODE_IP``, the bridge's address,
so nothing listens on another interface. What the stack writes outside ``DIR`` (iptables chains of
kubelet, kube-proxy and the CNI, network namespaces, the bridge, two sysctls, kubelet's bind mount of its
root) is removed at ``stop``. Needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN, overlayfs and network
namespaces, and Debian's containerd, runc, containernetworking-plugins, iptables and conntrack
(``scripts/setup.sh`` installs them). Recipe and findings: ../shared/notes/real-pods.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from devkit.cluster.process import BenchError, Component, bench_alive, run_tool

NODE_NAME = "bench-node-0"
BRIDGE = "clk8s0"
NODE_IP = "10.244.0.1"
POD_SUBNET = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
CNI_BIN = Path("/usr/lib/cni")
CNI_NETWORK = "chainlink-k8s-bench"
HOST_TOOLS = (
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
    "ctr",
    "iptables",
    "ip6tables",
    "conntrack",
    "ip",
)
SYSCTLS = {"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"}
# Chains kubelet creates in the filter/mangle/nat tables (v4 and v6); kube-proxy --cleanup removes its own.
KUBELET_CHAINS = (
    ("filter", "KUBE-FIREWALL", ("INPUT", "OUTPUT")),
    ("filter", "KUBE-KUBELET-CANARY", ()),
    ("mangle", "KUBE-KUBELET-CANARY", ()),
    ("nat", "KUBE-KUBELET-CANARY", ()),
    ("mangle", "KUBE-IPTABLES-HINT", ()),
)


def missing_host_tools() -> list[str]:
    missing = [name for name in HOST_TOOLS if shutil.which(name) is None]
    missing += [
        f"{CNI_BIN}/{p}"
        for p in ("bridge", "host-local", "loopback", "portmap")
        if not (CNI_BIN / p).exists()
    ]
    return missing


class KubeletNode:
    """The real node's processes and host state; ``start`` after the control plane, ``stop`` before it."""

    def __init__(
        self,
        directory: Path,
        *,
        bin_dir: Path,
        kubeconfig: Path,
        spawn: Callable[..., Component],
        wait: Callable[[str, Callable[[], bool], Component], None],
    ) -> None:
        self.directory = directory
        self.root = directory / "node"
        self.bin_dir = bin_dir
        self.kubeconfig = kubeconfig
        self._spawn = spawn
        self._wait = wait
        self.socket = containerd_socket(directory)
        self.import_seconds: float | None = None

    # -- start ------------------------------------------------------------------------------------

    def prepare_network(self) -> None:
        """The bridge with NODE_IP, before the API server binds there; sysctls the pods' traffic needs."""
        if os.geteuid() != 0:
            raise BenchError(
                "real pods need root (containerd, kubelet and the CNI change network and mounts)"
            )
        missing = missing_host_tools()
        if missing:
            raise BenchError(f"real pods need {', '.join(missing)}: run `bash scripts/setup.sh`")
        bridge = Path(f"/sys/class/net/{BRIDGE}")
        if bridge.exists():
            # The bridge's alias names the bench that made it: one that died without stopping is cleaned up.
            owner = Path((bridge / "ifalias").read_text().strip() or "/nonexistent")
            if bench_alive(owner):
                raise BenchError(
                    f"a real-pod bench already runs in {owner} (bridge {BRIDGE}); stop it with "
                    f"`python -m devkit.cluster down --dir {owner}`"
                )
            release_host(owner)
        record: dict[str, object] = {
            "netns": sorted(_netns()),
            "sysctls": {},
            "kube_proxy": str(self.bin_dir / "kube-proxy"),
        }
        for key in SYSCTLS:
            path = Path("/proc/sys") / key
            if not path.exists() and key.startswith("net/bridge"):
                run_tool(["modprobe", "br_netfilter"], check=False)
            record["sysctls"][key] = path.read_text().strip()  # type: ignore[index]
        self.directory.mkdir(parents=True, exist_ok=True)
        _record(self.directory).write_text(json.dumps(record))
        run_tool(["ip", "link", "add", BRIDGE, "type", "bridge"])
        run_tool(["ip", "link", "set", BRIDGE, "alias", str(self.directory)])
        run_tool(["ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE])
        run_tool(["ip", "link", "set", BRIDGE, "up"])
        for key, value in SYSCTLS.items():
            (Path("/proc/sys") / key).write_text(value)

    def start(self, images: Sequence[Path]) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        containerd = self._start_containerd()
        began = time.monotonic()
        for archive in images:
            self._ctr("images", "import", str(archive))
        self.import_seconds = time.monotonic() - began
        containerd.ensure_running()
        dns = self._start_coredns()
        kubelet = self._start_kubelet()
        proxy = self._start_kube_proxy()
        self._wait("CoreDNS /health", lambda: _http_ok("http://127.0.0.1:18080/health"), dns)
        self._wait("kube-proxy /healthz", lambda: _http_ok("http://127.0.0.1:10256/healthz"), proxy)
        self._wait("kubelet /healthz", lambda: _http_ok("http://127.0.0.1:10248/healthz"), kubelet)

    def _ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", f"--address={self.socket}", "--namespace=k8s.io", *args]

    def _ctr(self, *args: str) -> str:
        return run_tool(self._ctr_argv(*args)).stdout

    def _start_containerd(self) -> Component:
        base = self.root / "containerd"
        (self.root / "cni" / "net.d").mkdir(parents=True)
        (self.root / "cni" / "net.d" / "10-bench.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "1.0.0",
                    "name": CNI_NETWORK,
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": BRIDGE,
                            "isGateway": True,
                            "ipMasq": True,
                            "hairpinMode": True,
                            "ipam": {
                                "type": "host-local",
                                "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP}]],
                                "routes": [{"dst": "0.0.0.0/0"}],
                                "dataDir": str(self.root / "cni" / "ipam"),
                            },
                        },
                        {"type": "portmap", "capabilities": {"portMappings": True}},
                        {"type": "loopback"},
                    ],
                },
                indent=2,
            )
        )
        config = base / "config.toml"
        base.mkdir(parents=True)
        config.write_text(f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[debug]
  address = "{base / "debug.sock"}"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{base / "opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  enable_selinux = false
  disable_apparmor = true
  # No CAP_SYS_RESOURCE on these machines: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{base / "runc"}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{self.root / "cni" / "net.d"}"
    max_conf_num = 1
""")
        component = self._spawn("containerd", ["containerd", f"--config={config}", "--log-level=warn"])
        self._wait(
            "containerd socket",
            lambda: run_tool(["ctr", f"--address={self.socket}", "version"], check=False).returncode == 0,
            component,
        )
        return component

    def _start_coredns(self) -> Component:
        corefile = self.root / "Corefile"
        corefile.write_text(f""".:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:18080
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{
        kubeconfig {self.kubeconfig} bench
        pods insecure
    }}
    cache 5
}}
""")
        return self._spawn("coredns", [str(self.bin_dir / "coredns"), "-conf", str(corefile)], cwd=self.root)

    def _start_kubelet(self) -> Component:
        config = self._config(
            "kubelet.yaml",
            {
                "apiVersion": "kubelet.config.k8s.io/v1beta1",
                "kind": "KubeletConfiguration",
                "containerRuntimeEndpoint": f"unix://{self.socket}",
                # containerd 1.6 does not report a cgroup driver; these machines mount cgroup v1.
                "cgroupDriver": "cgroupfs",
                "failSwapOn": False,
                "failCgroupV1": False,
                "address": NODE_IP,
                "port": 10250,
                "readOnlyPort": 0,
                "healthzBindAddress": "127.0.0.1",
                "healthzPort": 10248,
                # The API server calls the kubelet (logs, exec) without a client certificate.
                "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
                "authorization": {"mode": "AlwaysAllow"},
                "clusterDomain": CLUSTER_DOMAIN,
                "clusterDNS": [NODE_IP],
                "resolvConf": str(self._resolv_conf()),
                "podLogsDir": str(self.root / "pod-logs"),
                "volumePluginDir": str(self.root / "volume-plugins"),
                "serializeImagePulls": False,
                "evictionHard": {
                    "memory.available": "100Mi",
                    "nodefs.available": "2%",
                    "imagefs.available": "2%",
                },
                "imageGCHighThresholdPercent": 100,
                "registerNode": True,
            },
        )
        return self._spawn(
            "kubelet",
            [
                str(self.bin_dir / "kubelet"),
                f"--config={config}",
                f"--kubeconfig={self.kubeconfig}",
                f"--root-dir={self.root / 'kubelet'}",
                f"--cert-dir={self.root / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--node-labels=type=bench",
                "--v=1",
            ],
        )

    def _config(self, name: str, document: dict[str, object]) -> Path:
        """A component's configuration file (JSON is YAML) under the node's root."""
        path = self.root / name
        path.write_text(json.dumps(document, indent=2))
        return path

    def _resolv_conf(self) -> Path:
        # Pods resolve only cluster names: nothing leaves the bench's bridge.
        path = self.root / "resolv.conf"
        path.write_text(f"nameserver {NODE_IP}\n")
        return path

    def _start_kube_proxy(self) -> Component:
        config = self._config(
            "kube-proxy.yaml",
            {
                "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                "kind": "KubeProxyConfiguration",
                "mode": "iptables",
                "clientConnection": {"kubeconfig": str(self.kubeconfig)},
                "hostnameOverride": NODE_NAME,
                "bindAddress": NODE_IP,
                "clusterCIDR": CLUSTER_CIDR,
                "metricsBindAddress": "127.0.0.1:10249",
                "healthzBindAddress": "127.0.0.1:10256",
                # Zeros: the host's conntrack sysctls stay; no localhost NodePorts: no route_localnet.
                "conntrack": {
                    "maxPerCore": 0,
                    "min": 0,
                    "tcpEstablishedTimeout": "0s",
                    "tcpCloseWaitTimeout": "0s",
                },
                "iptables": {"localhostNodePorts": False, "syncPeriod": "10s", "minSyncPeriod": "1s"},
            },
        )
        return self._spawn("kube-proxy", [str(self.bin_dir / "kube-proxy"), f"--config={config}"])

    # -- stop -------------------------------------------------------------------------------------

    def drain(self, api: Any, timeout: float = 30.0) -> None:
        """Cordon the node, delete every pod at once and wait for the kubelet to tear them down (CNI DEL,
        unmounts); the replacements controllers make stay Pending."""
        core = client.CoreV1Api(api)
        with contextlib.suppress(Exception):  # an API server already gone: the kill below still runs
            core.patch_node(NODE_NAME, {"spec": {"unschedulable": True}})
            for pod in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={NODE_NAME}").items:
                with contextlib.suppress(ApiException):
                    core.delete_namespaced_pod(
                        pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0
                    )
        deadline = time.monotonic() + timeout
        while self._tasks() and time.monotonic() < deadline:
            time.sleep(0.5)
        # Whatever the kubelet did not stop (it may be dead): the shims outlive containerd, so kill them now.
        for task in self._tasks():
            run_tool(self._ctr_argv("tasks", "kill", "--signal=SIGKILL", task), check=False)
            run_tool(self._ctr_argv("tasks", "delete", "--force", task), check=False)

    def _tasks(self) -> list[str]:
        listed = run_tool(self._ctr_argv("tasks", "ls", "-q"), check=False)
        return listed.stdout.split() if listed.returncode == 0 else []

    def cleanup_host(self) -> list[str]:
        """After the processes stopped: remove what they left outside DIR. Returns what it could not."""
        return release_host(self.directory)


def containerd_socket(directory: Path) -> Path:
    return directory / "node" / "containerd" / "containerd.sock"


def _record(directory: Path) -> Path:
    return directory / "node-host.json"


def _netns() -> set[str]:
    return set(os.listdir("/run/netns")) if Path("/run/netns").exists() else set()


def release_host(directory: Path) -> list[str]:
    """Undo what the real node of the bench in ``directory`` did outside it, also after that bench was killed:
    its containers, iptables chains, mounts, network namespaces, the bridge and the sysctls. Returns what
    could not be removed."""
    try:
        record = json.loads(_record(directory).read_text())
    except (OSError, ValueError):
        return []
    _kill_containers(containerd_socket(directory))
    proxy_config = directory / "node" / "kube-proxy.yaml"
    cleanup = [record["kube_proxy"], "--cleanup"]
    if proxy_config.exists():
        cleanup.append(f"--config={proxy_config}")
    run_tool(cleanup, check=False)
    _remove_kubelet_chains()
    _remove_cni_chains()
    problems = [f"mount {target}" for target in _unmount(directory / "node")]
    for name in _netns() - set(record["netns"]):
        if name.startswith("cni-"):
            run_tool(["ip", "netns", "delete", name], check=False)
    # kubelet links every container's log from this fixed directory.
    links = Path("/var/log/containers")
    for link in links.glob("*.log") if links.exists() else ():
        if link.is_symlink() and os.readlink(link).startswith(f"{directory}/"):
            link.unlink()
    alias = Path(f"/sys/class/net/{BRIDGE}/ifalias")
    if alias.exists() and alias.read_text().strip() == str(directory):
        run_tool(["ip", "link", "del", BRIDGE], check=False)
    for key, value in record["sysctls"].items():
        with contextlib.suppress(OSError):
            (Path("/proc/sys") / key).write_text(value)
    _record(directory).unlink()
    return problems


def _kill_containers(socket: Path) -> None:
    """SIGKILL every process under the containerd shims that serve ``socket`` (they outlive containerd)."""
    parents: dict[int, int] = {}
    shims = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        if b"containerd-shim" in cmdline[0] and str(socket).encode() in cmdline:
            shims.append(pid)
    doomed = set(shims)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in doomed} - doomed
        doomed |= children
        grew = bool(children)
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _unmount(root: Path) -> list[str]:
    """Lazily unmount everything at or under root, deepest first; returns what failed."""
    failed = []
    for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
        target = line.split()[1].replace("\\040", " ")
        if (target == str(root) or target.startswith(f"{root}/")) and run_tool(
            ["umount", "-l", target], check=False
        ).returncode != 0:
            failed.append(target)
    return failed


def _remove_cni_chains() -> None:
    """The bridge plugin's masquerade chains, one per pod; its DEL removes them, a killed pod keeps them."""
    marker = f'name: \\"{CNI_NETWORK}\\"'
    for tool in ("iptables", "ip6tables"):
        for rule in run_tool([f"{tool}-save", "-t", "nat"], check=False).stdout.splitlines():
            if rule.startswith("-A POSTROUTING ") and marker in rule:
                chain = rule.rsplit(" -j ", 1)[1].strip()
                run_tool([tool, "-t", "nat", "-D", *shlex.split(rule)[1:]], check=False)
                run_tool([tool, "-t", "nat", "-F", chain], check=False)
                run_tool([tool, "-t", "nat", "-X", chain], check=False)


def _remove_kubelet_chains() -> None:
    for tool in ("iptables", "ip6tables"):
        for table, chain, parents in KUBELET_CHAINS:
            for parent in parents:
                while run_tool([tool, "-t", table, "-D", parent, "-j", chain], check=False).returncode == 0:
                    pass
            run_tool([tool, "-t", table, "-F", chain], check=False)
            run_tool([tool, "-t", table, "-X", chain], check=False)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - loopback health endpoints
        return bool(resp.status == 200)
