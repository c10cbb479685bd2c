"""The agent's entry point loads the kubernetes client name by name, and what it uses still works."""

import json
import subprocess
import sys
import textwrap

import pytest
from chainlink_agent.leankube import underscore

PROBE = textwrap.dedent(
    """
    import json, sys
    import chainlink_agent.__main__  # the entry point installs the light packages
    from kubernetes import client, config, watch
    from kubernetes.client.exceptions import ApiException
    api = client.ApiClient()
    secret = api._ApiClient__deserialize({"data": {"k": "dg=="}, "metadata": {"name": "s"}}, "V1Secret")
    print(json.dumps({
        "secret": [type(secret).__name__, secret.data, secret.metadata.name],
        "apis": [client.CustomObjectsApi.__name__, client.CoreV1Api.__name__, client.AppsV1Api.__name__],
        "exception": ApiException is client.ApiException,
        "models": sorted(m for m in sys.modules if m.startswith("kubernetes.client.models.")),
        "apis_loaded": sorted(m for m in sys.modules if m.startswith("kubernetes.client.api.")),
        "config": callable(config.load_incluster_config) and hasattr(watch, "Watch"),
        "in_cluster_only": "oauthlib" not in sys.modules and "yaml" not in sys.modules,
        "kubeconfig": callable(config.load_kube_config) and issubclass(config.ConfigException, Exception),
    }))
    """
)


def test_the_entry_point_loads_only_what_the_agent_uses():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert seen["secret"] == ["V1Secret", {"k": "dg=="}, "s"]
    assert seen["apis"] == ["CustomObjectsApi", "CoreV1Api", "AppsV1Api"]
    assert seen["exception"] is True
    assert seen["config"] is True
    # A pod's agent never loads kube_config's oauthlib and yaml; a kubeconfig still loads when asked for.
    assert seen["in_cluster_only"] is True
    assert seen["kubeconfig"] is True
    assert seen["models"] == ["kubernetes.client.models.v1_object_meta", "kubernetes.client.models.v1_secret"]
    assert seen["apis_loaded"] == [
        "kubernetes.client.api.apps_v1_api",
        "kubernetes.client.api.core_v1_api",
        "kubernetes.client.api.custom_objects_api",
    ]


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("CoreV1Api", "core_v1_api"),
        ("CustomObjectsApi", "custom_objects_api"),
        ("V1APIResource", "v1_api_resource"),
        ("V1ObjectMeta", "v1_object_meta"),
        ("CoreV1EventList", "core_v1_event_list"),
        ("V2HorizontalPodAutoscaler", "v2_horizontal_pod_autoscaler"),
    ],
)
def test_class_names_map_to_the_generators_file_names(name, module):
    assert underscore(name) == module
