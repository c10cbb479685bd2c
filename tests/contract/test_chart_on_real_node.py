"""The chart's rendered node files (config.toml, override.toml, secrets.toml, the API credentials) meet the
real node: `chainlink node validate` accepts them for a matrix of values, and the default render boots a node
against the bench's Postgres that answers the chart's own credentials."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devkit.chart import CHART
from devkit.cluster.controlplane import free_ports
from devkit.cluster.tools import tools_bin_dir
from devkit.realnode.node import RealNode, evm_config, validate
from devkit.realnode.postgres import Postgres

# An EVM chain at an unreachable loopback RPC: the node starts and is ready with it (/health says 207).
EVM = '[{"ChainID":"1337","Nodes":[{"Name":"primary","WSURL":"ws://127.0.0.1:9","HTTPURL":"http://127.0.0.1:9"}]}]'
MATRIX = {
    "default": [],
    "external-database": [
        "--set",
        "postgresql.enabled=false",
        "--set",
        "externalDatabase.url=postgresql://cl:Ext3rnal-Pass-123-xyz@db.example:5432/cl?sslmode=require",
    ],
    "evm-chain": ["--set-json", f"node.evm={EVM}"],
    "p2p-off": ["--set", "node.p2p.enabled=false"],
    "secure-cookies": ["--set", "node.api.secureCookies=true"],
    "config-and-override": [
        "--set-json",
        'node.config={"JobPipeline":{"MaxSuccessfulRuns":100}}',
        "--set",
        "node.configOverride=[Feature]\nUICSAKeys = true",
    ],
}


def render(values: list[str]) -> list[dict[str, Any]]:
    rendered = subprocess.run(
        [
            "helm",
            "template",
            "r",
            str(CHART),
            "-n",
            "ns",
            "--set",
            "credentials.generateOffline=true",
            *values,
        ],
        env={"PATH": f"{tools_bin_dir()}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


def pod_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "r-chainlink-node")
    return dict(pod["spec"]["template"]["spec"])


def node_files(
    workdir: Path, values: list[str], written: dict[str, Path] | None = None
) -> tuple[list[Path], list[Path], Path]:
    """The files behind the node container's -c, -s and -a flags, from a render of the chart: each path
    is traced through its volume mount to the ConfigMap or Secret key the chart renders; `written` holds
    the files an init container writes (container path -> local file)."""
    docs = render(values)
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    spec = pod_spec(docs)
    container = next(c for c in spec["containers"] if c["name"] == "node")
    volumes = {v["name"]: v for v in spec["volumes"]}
    args = container["args"]
    flags: dict[str, list[Path]] = {"-c": [], "-s": [], "-a": []}
    for flag, path in itertools.pairwise(args):
        if flag in flags and path in (written or {}):
            flags[flag].append((written or {})[path])
        elif flag in flags:
            flags[flag].append(_materialise(workdir, path, container["volumeMounts"], volumes, objects))
    return flags["-c"], flags["-s"], flags["-a"][0]


def _materialise(workdir: Path, path: str, mounts: list[Any], volumes: dict[str, Any], objects: dict) -> Path:
    mount = next(m for m in mounts if path.startswith(m["mountPath"] + "/"))
    filename = path.removeprefix(mount["mountPath"] + "/")
    volume = volumes[mount["name"]]
    if "configMap" in volume:
        data = objects[("ConfigMap", volume["configMap"]["name"])]["data"]
    else:
        encoded = objects[("Secret", volume["secret"]["secretName"])]["data"]
        data = {k: base64.b64decode(v).decode() for k, v in encoded.items()}
    source = volume.get("configMap") or volume["secret"]
    key = next((i["key"] for i in source.get("items") or [] if i["path"] == filename), filename)
    out = workdir / mount["name"] / filename
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data[key])
    return out


@pytest.mark.parametrize("case", MATRIX)
def test_rendered_files_pass_the_nodes_own_validate(case: str, real_nodes: Any, tmp_path: Path) -> None:
    configs, secrets_files, _ = node_files(tmp_path, MATRIX[case])
    result = validate(configs, secrets_files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration." in result.stdout + result.stderr


def boot(
    real_nodes: Any, workdir: Path, configs: list[Path], secrets_files: list[Path], api: Path
) -> RealNode:
    """A real node on the chart's files, with its database URL pointed at the bench's Postgres (the render
    names the in-cluster Service) and a last -c file of loopback ports and a writable RootDir."""
    postgres: Postgres = real_nodes.postgres
    database = f"chart_{secrets.token_hex(4)}"
    postgres.create_database(database)
    toml = secrets_files[0].read_text()
    password = re.search(r"postgresql://chainlink:([^@]+)@", toml)
    assert password is not None
    url = postgres.url(database, password.group(1))
    secrets_files[0].write_text(re.sub(r'URL = "[^"]*"', f'URL = "{url}"', toml))
    http, p2p = free_ports(2)
    local = workdir / "local.toml"
    local.write_text(
        f'RootDir = "{workdir / "root"}"\n[WebServer]\nHTTPPort = {http}\nListenIP = "127.0.0.1"\n'
        f'[P2P.V2]\nListenAddresses = ["127.0.0.1:{p2p}"]\n'
    )
    return RealNode.launch(
        workdir / "node", [*configs, local], secrets_files, api, f"http://127.0.0.1:{http}"
    )


@contextmanager
def logged_in(node: RealNode, api: Path) -> Iterator[httpx.Client]:
    """A session with the chart's API credentials file."""
    email, password = api.read_text().splitlines()[:2]
    with httpx.Client(base_url=node.url, timeout=30) as client:
        login = client.post("/sessions", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        yield client


def test_the_default_render_boots_a_node_that_answers_the_charts_credentials(
    real_nodes: Any, tmp_path: Path
) -> None:
    node = boot(real_nodes, tmp_path, *node_files(tmp_path, []))
    try:
        with logged_in(node, tmp_path / "api-credentials" / "credentials") as client:
            assert client.get("/v2/build_info").json()["version"] == "2.23.0"
    finally:
        node.stop()


def test_keys_exported_from_one_node_are_imported_by_the_chart_into_another(
    real_nodes: Any, tmp_path: Path
) -> None:
    """node.importKeys: the chart's init container (chainlink-agent keys-toml) writes the secrets TOML the
    node imports ETH and P2P keys from at start."""
    source = real_nodes.start("key-source", extra_config=evm_config("1337"))
    password = "Exp0rt-Pass-123-xyz"
    try:
        with httpx.Client(base_url=source.url, timeout=30) as client:
            client.post("/sessions", json={"email": source.email, "password": source.password})
            peer = client.get("/v2/keys/p2p").json()["data"][0]["attributes"]["peerId"]
            address = client.get("/v2/keys/eth").json()["data"][0]["attributes"]["address"]
            exports = {
                "p2p": client.post(f"/v2/keys/p2p/export/{peer}", params={"newpassword": password}).content,
                "eth": client.post(
                    f"/v2/keys/eth/export/{address}", params={"newpassword": password}
                ).content,
            }
    finally:
        source.stop()
    import_keys = [
        {"type": "p2p", "secretName": "keys", "key": "p2p", "passwordKey": "password"},
        {"type": "eth", "secretName": "keys", "key": "eth", "passwordKey": "password", "evmChainID": "1337"},
    ]
    values = ["--set-json", f"node.evm={EVM}", "--set-json", f"node.importKeys={json.dumps(import_keys)}"]
    init = next(c for c in pod_spec(render(values))["initContainers"] if c["name"] == "import-keys")
    # The init container's input, each key's Secret mounted where the chart mounts it (here: locally).
    wanted = json.loads(next(e["value"] for e in init["env"] if e["name"] == "CHAINLINK_AGENT_IMPORT_KEYS"))
    for entry in wanted:
        key_file = tmp_path / "import" / entry["json"].lstrip("/")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_bytes(exports[entry["type"]])
        (key_file.parent / "password").write_text(password)
        entry["json"], entry["password"] = str(key_file), str(key_file.parent / "password")
    keys_toml = tmp_path / "keys.toml"
    made = subprocess.run(
        [sys.executable, "-m", "chainlink_agent", "keys-toml", str(keys_toml)],
        env={**os.environ, "CHAINLINK_AGENT_IMPORT_KEYS": json.dumps(wanted)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    node = boot(real_nodes, tmp_path, *node_files(tmp_path, values, {init["command"][-1]: keys_toml}))
    try:
        with logged_in(node, tmp_path / "api-credentials" / "credentials") as client:
            peers = [k["attributes"]["peerId"] for k in client.get("/v2/keys/p2p").json()["data"]]
            addresses = [k["attributes"]["address"] for k in client.get("/v2/keys/eth").json()["data"]]
    finally:
        node.stop()
    assert peer in peers
    assert address in addresses
