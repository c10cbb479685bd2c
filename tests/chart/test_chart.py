"""The chainlink-node chart: its copies and generated docs stay in step, ct lint and the helm-unittest suites
pass, every manifest rendered from every ci values file is valid Kubernetes 1.34, kube-score finds nothing
unaccepted (test_kube_score.py), the API server accepts a dry-run install (also of nodes named like YAML 1.1
bools and numbers), and ct install (install --wait, helm test, uninstall) passes on the full bench."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from devkit.chart import CHART, CI_VALUES, run
from devkit.cluster.controlplane import ControlPlane
from devkit.cluster.tools import REPO_ROOT as REPO
from tests.chart import values_table
from tests.docs.markdown import anchors

# The bench's version (scripts/tools.sh builds v1.34.x).
KUBERNETES_VERSION = "1.34.0"
# DNS labels that YAML 1.1, which Helm and kubectl parse manifests with, reads as bools or a number.
YAML_1_1_NON_STRINGS = ("no", "on", "y", "n", "true", "1234")


class _GoYamlLoader(yaml.SafeLoader):
    """YAML 1.1 with y and n as bools, as go-yaml v2 (sigs.k8s.io/yaml: Helm's, kubectl's) reads it."""

    bool_values: ClassVar[dict[str, bool]] = {**yaml.SafeLoader.bool_values, "y": True, "n": False}


_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^[yYnN]$"), list("yYnN"))


def test_the_chart_states_the_node_and_agent_versions_it_deploys() -> None:
    """`helm list` shows appVersion: it must be the node's image tag, the version the real-node lane builds;
    the chart's version is the agent's, as its image tag and the Python package."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    tools = (REPO / "scripts" / "tools.sh").read_text()
    assert chart["appVersion"] == values["image"]["tag"]
    assert f"CHAINLINK_VERSION=v{chart['appVersion']}\n" in tools
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["version"] == project["version"]
    images = yaml.safe_load(chart["annotations"]["artifacthub.io/images"])
    assert [i["image"] for i in images] == [
        f"{values['image']['repository']}:{chart['appVersion']}",
        f"{values['agent']['image']['repository']}:{chart['version']}",
    ]


def test_artifacthub_lists_every_crd_with_an_example_the_api_server_accepts(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    annotations = yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]
    crds = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "crds").glob("*.yaml"))]
    listed = yaml.safe_load(annotations["artifacthub.io/crds"])
    assert {(c["kind"], c["name"]) for c in listed} == {
        (crd["spec"]["names"]["kind"], crd["metadata"]["name"]) for crd in crds
    }
    examples = yaml.safe_load(annotations["artifacthub.io/crdsExamples"])
    assert sorted(e["kind"] for e in examples) == sorted(c["kind"] for c in listed)
    env = cluster.env()
    _install_crds(env)
    manifest = tmp_path / "examples.yaml"
    manifest.write_text(yaml.safe_dump_all(examples))
    run(["kubectl", "apply", "--dry-run=server", "-n", namespace, "-f", str(manifest)], env)


def _install_crds(env: dict[str, str]) -> None:
    run(["kubectl", "apply", "--server-side", "-f", str(REPO / "crds")], env)
    run(["kubectl", "wait", "--for=condition=Established", "-f", str(REPO / "crds")], env)


def test_chart_crds_are_copies_of_the_root_crds() -> None:
    sources = sorted(p.name for p in (REPO / "crds").glob("*.yaml"))
    copies = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert copies == sources, (
        "the chart's crds/ must hold exactly the files of crds/: cp crds/*.yaml charts/chainlink-node/crds/"
    )
    for name in sources:
        assert (CHART / "crds" / name).read_bytes() == (REPO / "crds" / name).read_bytes(), (
            f"charts/chainlink-node/crds/{name} drifted from crds/{name} (the source): "
            "cp crds/*.yaml charts/chainlink-node/crds/"
        )


def test_every_value_is_documented() -> None:
    assert values_table.undocumented((CHART / "values.yaml").read_text(encoding="utf-8")) == []


def test_every_value_belongs_to_a_section() -> None:
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    titles = values_table.section_titles(text)
    assert len(titles) == len(set(titles)), f"a `## @section` title repeats: {titles}"
    grouped = values_table.sections(text)
    assert [e.key for e in grouped.get("", [])] == [], "values above the first `## @section` line"
    assert list(grouped) == titles, "a `## @section` holds no documented value"


def test_each_values_section_has_a_heading_of_its_own() -> None:
    # A title the README already uses as a heading would get GitHub's numbered anchor (#monitoring-1).
    found = anchors(CHART / "README.md")
    titles = values_table.section_titles((CHART / "values.yaml").read_text(encoding="utf-8"))
    slugs = [re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles]
    assert [s for s in slugs if s not in found or f"{s}-1" in found] == []


def test_readme_values_table_is_current() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    expected = values_table.render_readme(readme, (CHART / "values.yaml").read_text(encoding="utf-8"))
    assert readme == expected, "README values table is stale: python3 tests/chart/values_table.py --write"


def test_ct_lint(tools_env: dict[str, str]) -> None:
    output = run(["ct", "lint", "--all", "--config", "ct.yaml"], tools_env)
    assert "No chart changes" not in output
    assert "All charts linted successfully" in output


def test_helm_unittest(tools_env: dict[str, str]) -> None:
    output = run(["helm-unittest", "--strict", str(CHART)], tools_env)
    assert "Tests:" in output
    assert " FAIL " not in output


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_rendered_manifests_are_valid_kubernetes(
    values: Path, tools_env: dict[str, str], tmp_path: Path
) -> None:
    manifests = tmp_path / "manifests.yaml"
    # Throwaway passwords: helm template cannot read a cluster (values.yaml credentials.generateOffline).
    helm = ["helm", "template", "ci", str(CHART), "--namespace", "ci", "--include-crds", "-f", str(values)]
    helm += ["--set", "credentials.generateOffline=true"]
    rendered = run(helm, tools_env)
    manifests.write_text(rendered, encoding="utf-8")
    run(["kubernetes-validate", "-k", KUBERNETES_VERSION, "--strict", "--quiet", str(manifests)], tools_env)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_server_side_dry_run(values: Path, cluster: ControlPlane, namespace: str, tmp_path: Path) -> None:
    env = cluster.env()
    # Pod Security "restricted": enforced on Pods (the helm test pods), reported as a warning for the pod
    # templates of StatefulSets and Jobs, which is what the kubectl dry run below looks for.
    labels = [f"pod-security.kubernetes.io/{mode}=restricted" for mode in ("enforce", "warn")]
    run(["kubectl", "label", "namespace", namespace, *labels], env)
    # Helm's dry run does not install the chart's crds/, so the ChainlinkNode could not be mapped: as on a
    # cluster where the chart was installed before.
    _install_crds(env)
    release = values.stem.removesuffix("-values")
    helm = ["helm", "install", release, str(CHART), "--namespace", namespace, "-f", str(values)]
    assert "kind: StatefulSet" in run([*helm, "--dry-run=server"], env)
    # helm's dry run only checks the objects against the API's schema; a kubectl server-side dry run also
    # passes them through admission (Pod Security included), hooks and test pods among them.
    manifests = tmp_path / "manifests.yaml"
    offline = ["--set", "credentials.generateOffline=true"]  # helm template cannot read the cluster
    manifests.write_text(run(["helm", "template", *helm[2:], *offline], env), encoding="utf-8")
    output = run(["kubectl", "apply", "--dry-run=server", "-n", namespace, "-f", str(manifests)], env)
    assert "would violate PodSecurity" not in output, output


def _string_fields(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every name, namespace, *Name field and label or selector entry (key and value) below node."""
    items = enumerate(node) if isinstance(node, list) else node.items() if isinstance(node, dict) else ()
    for key, value in items:
        path = f"{where}[{key}]" if isinstance(node, list) else f"{where}.{key}"
        if isinstance(value, (dict, list)):
            if key in {"labels", "matchLabels", "selector"} and isinstance(value, dict):
                yield from ((f"{path} key", k) for k in value)
                yield from ((f"{path}.{k}", v) for k, v in value.items() if not isinstance(v, (dict, list)))
            yield from _string_fields(value, path)
        elif key in {"name", "namespace"} or str(key).endswith("Name"):
            yield path, value


@pytest.mark.parametrize("name", YAML_1_1_NON_STRINGS)
def test_names_that_yaml_reads_as_bools_or_numbers_render_as_strings(
    name: str, tools_env: dict[str, str]
) -> None:
    """The release, its namespace, nodeName, nameOverride and fullnameOverride all named `name`: every name,
    label and selector reads back as a string under YAML 1.1, as Helm's and kubectl's parsers read it."""
    names = f"nodeName={name},nameOverride={name},fullnameOverride={name}"
    helm = ["helm", "template", name, str(CHART), "--namespace", name, "--set-string", names]
    rendered = run([*helm, "--set", "credentials.generateOffline=true"], tools_env)
    wrong = [
        f"{doc['kind']}/{doc['metadata']['name']}{path}: {value!r}"
        for doc in yaml.load_all(rendered, Loader=_GoYamlLoader)
        if doc
        for path, value in _string_fields(doc)
        if not isinstance(value, str)
    ]
    assert not wrong, "unquoted in the templates:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", YAML_1_1_NON_STRINGS)
def test_nodes_named_like_bools_or_numbers_install(
    name: str, cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """The API server takes a node of that name, by helm's dry run and kubectl's. (A release may not be named
    1234: Service names must begin with a letter.)"""
    env = cluster.env()
    _install_crds(env)
    helm = ["helm", "install", "r", str(CHART), "--namespace", namespace, "--set-string", f"nodeName={name}"]
    assert "kind: StatefulSet" in run([*helm, "--dry-run=server"], env)
    manifests = tmp_path / "manifests.yaml"
    offline = ["--set", "credentials.generateOffline=true"]
    manifests.write_text(run(["helm", "template", *helm[2:], *offline], env), encoding="utf-8")
    run(["kubectl", "apply", "--dry-run=server", "-n", namespace, "-f", str(manifests)], env)


def test_ct_install(full_cluster: ControlPlane) -> None:
    # Every ci values file installed, tested and uninstalled, on kwok's pods: quick, and its helm tests only
    # pretend to pass. The default release's tests run for real on real pods (tests/realpods).
    output = run(["ct", "install", "--all", "--config", "ct.yaml"], full_cluster.env(), timeout=1800)
    assert "All charts installed successfully" in output
