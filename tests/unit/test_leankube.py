"""The agent's entry point loads the kubernetes client name by name, and what it uses still works."""

import json
import subprocess
import sys
import textwrap

import pytest
from chainlink_agent.k8s.leankube import underscore

PROBE = textwrap.dedent(
    """
    import json, sys
    import chainlink_agent.__main__  # the entry point installs the light packages
    import chainlink_agent.app  # the sidecar's modules
    from chainlink_agent.k8s.kube import Kube
    from kubernetes import client, config, utils, watch
    from kubernetes.client.exceptions import ApiException
    api = client.ApiClient()
    Kube(api, "ns", "node-a")
    secret = client.V1Secret.from_dict({"data": {"k": "dg=="}, "metadata": {"name": "s"}})
    loaded = lambda prefix: sorted(m for m in sys.modules if m.startswith(prefix))
    seen = {
        "secret": [type(secret).__name__, secret.data, secret.metadata.name],
        "models": loaded("kubernetes.client.models."),
        "apis_loaded": loaded("kubernetes.client.api."),
        "utils_loaded": loaded("kubernetes.utils."),
        "in_cluster_only": "oauthlib" not in sys.modules and "yaml" not in sys.modules,
        "unused": sorted({"pydantic_settings", "dotenv", "backoff", "asyncio"} & set(sys.modules)),
    }
    seen.update({
        "apis": [client.CustomObjectsApi.__name__, client.CoreV1Api.__name__, client.AppsV1Api.__name__],
        "exception": ApiException is client.ApiException,
        "config": callable(config.load_incluster_config) and hasattr(watch, "Watch"),
        "utils": callable(utils.parse_quantity) and callable(utils.create_from_yaml),
        "kubeconfig": callable(config.load_kube_config) and issubclass(config.ConfigException, Exception),
    })
    print(json.dumps(seen))
    """
)


def test_the_entry_point_loads_only_what_the_agent_uses():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert seen["secret"] == ["V1Secret", {"k": "dg=="}, "s"]
    # The agent loads no generated API class (kube.py speaks REST through ApiClient.call_api): with
    # kubernetes 37 CoreV1Api alone imports 250 model modules. The one model it reads is the Secret.
    assert seen["apis_loaded"] == []
    assert seen["models"] == [
        "kubernetes.client.models.v1_managed_fields_entry",
        "kubernetes.client.models.v1_object_meta",
        "kubernetes.client.models.v1_owner_reference",
        "kubernetes.client.models.v1_secret",
    ]
    # The REST layer's retry helpers, not utils/__init__'s create_from_yaml (and yaml).
    assert seen["utils_loaded"] == [
        "kubernetes.utils._retry_base",
        "kubernetes.utils.keepalive",
        "kubernetes.utils.retry",
    ]
    # A pod's agent never loads kube_config's oauthlib and yaml; a kubeconfig still loads when asked for.
    assert seen["in_cluster_only"] is True
    # Nor the libraries it dropped (issue 24): runtime/environment.py reads the settings, model/retry.py times
    # the retries. pydantic-settings and backoff each imported asyncio, which nothing else of the agent needs.
    assert seen["unused"] == []
    # Everything else still resolves when asked for.
    assert seen["apis"] == ["CustomObjectsApi", "CoreV1Api", "AppsV1Api"]
    assert seen["exception"] is True
    assert seen["config"] is True
    assert seen["utils"] is True
    assert seen["kubeconfig"] is True


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
