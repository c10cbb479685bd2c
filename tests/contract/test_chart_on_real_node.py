"""The chart's rendered node files (config.toml, override.toml, secrets.toml, the API credentials) meet the
real node: `chainlink node validate` accepts them for a matrix of values, and the default render boots a node
against the bench's Postgres that answers the chart's own credentials."""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.chart.test_chart import CHART, _bin_dir
from tests.cluster.controlplane import free_ports
from tests.realnode.node import RealNode, validate
from tests.realnode.postgres import Postgres

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


def node_files(workdir: Path, values: list[str]) -> tuple[list[Path], list[Path], Path]:
    """The files behind the node container's -c, -s and -a flags, from a render of the chart: each path
    is traced through its volume mount to the ConfigMap or Secret key the chart renders."""
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
        env={"PATH": f"{_bin_dir()}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    pod = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "r-chainlink-node")
    spec = pod["spec"]["template"]["spec"]
    container = next(c for c in spec["containers"] if c["name"] == "node")
    volumes = {v["name"]: v for v in spec["volumes"]}
    args = container["args"]
    flags: dict[str, list[Path]] = {"-c": [], "-s": [], "-a": []}
    for flag, path in itertools.pairwise(args):
        if flag in flags:
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


def test_the_default_render_boots_a_node_that_answers_the_charts_credentials(
    real_nodes: Any, tmp_path: Path
) -> None:
    configs, secrets_files, api = node_files(tmp_path, [])
    postgres: Postgres = real_nodes.postgres
    database = f"chart_{secrets.token_hex(4)}"
    postgres.create_database(database)
    # The chart's database URL names its in-cluster Service: point it at the bench's Postgres instead.
    toml = secrets_files[0].read_text()
    password = re.search(r"postgresql://chainlink:([^@]+)@", toml)
    assert password is not None
    secrets_files[0].write_text(
        re.sub(r'URL = "[^"]*"', f'URL = "{postgres.url(database, password.group(1))}"', toml)
    )
    http, p2p = free_ports(2)
    local = tmp_path / "local.toml"  # last -c file: loopback ports and a writable RootDir
    local.write_text(
        f'RootDir = "{tmp_path / "root"}"\n[WebServer]\nHTTPPort = {http}\nListenIP = "127.0.0.1"\n'
        f'[P2P.V2]\nListenAddresses = ["127.0.0.1:{p2p}"]\n'
    )
    node = RealNode.launch(
        tmp_path / "node", [*configs, local], secrets_files, api, f"http://127.0.0.1:{http}"
    )
    try:
        email, api_password = api.read_text().splitlines()[:2]
        login = httpx.post(f"{node.url}/sessions", json={"email": email, "password": api_password})
        assert login.status_code == 200, login.text
        version = httpx.get(f"{node.url}/v2/build_info", cookies=login.cookies).json()
        assert version["version"] == "2.23.0"
    finally:
        node.stop()
