"""Import the kubernetes client without the packages the agent does not use.

`import kubernetes` runs package __init__ files that import client, config (kube_config: oauthlib,
requests-oauthlib, yaml), dynamic, watch, stream (websocket-client), utils (create_from_yaml: yaml),
leaderelection and informer. With kubernetes 36 that also imported every generated API class and model
(71.6 MiB for `python -c "import kubernetes"` against 8.7 MiB for bare Python). Since 37 the generated
packages `kubernetes.client`, `.client.api` and `.client.models` load names lazily themselves, but the
rest still costs about 10 MiB: the agent's modules plus a Kube are 48.5 MiB of RSS with install() and
58.3 MiB without (kubernetes 37.0.2, measured with /proc/self/status VmRSS).

install() puts light stand-ins for the packages `kubernetes`, `kubernetes.client`, `kubernetes.client.api`,
`kubernetes.client.models`, `kubernetes.config` and `kubernetes.utils` into sys.modules: each has the real
directory as its __path__, so submodules import as usual, and a module __getattr__ (PEP 562) that imports a
name's own module the first time it is asked for. `kubernetes.client.V1Secret` then loads
models/v1_secret.py (and the models it imports) and nothing else; the REST layer's
`from kubernetes.utils.retry import ...` loads retry.py, not utils/__init__.py's create_from_yaml. Module
names follow the OpenAPI generator's underscore() of the class name.

The agent itself loads no generated API class (kube.py sends its requests through ApiClient.call_api):
with 37 each imports, at import time, the pydantic models its methods name (CoreV1Api: 250 model modules,
about 20 MiB).

Only the agent's entry point calls install(), before anything imports kubernetes; anywhere the client is
already imported (a test process) it does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Callable
from typing import Any

# kubernetes.client's top-level names that live in these modules rather than under api/ or models/.
_CLIENT_MODULES = ("api_client", "configuration", "exceptions")


def underscore(name: str) -> str:
    """CoreV1Api -> core_v1_api, V1APIResource -> v1_api_resource (the generator's file names)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def install() -> None:
    if "kubernetes" in sys.modules:
        return
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        return  # not installed: the first real import says so
    root = next(iter(spec.submodule_search_locations))
    kubernetes = _package("kubernetes", root, lambda attr: _submodule("kubernetes", attr))
    client = _package("kubernetes.client", f"{root}/client", _client_attribute)
    client.api = _package("kubernetes.client.api", f"{root}/client/api", _api_attribute)
    client.models = _package("kubernetes.client.models", f"{root}/client/models", _model)
    kubernetes.client = client
    kubernetes.config = _package("kubernetes.config", f"{root}/config", _config_attribute)
    kubernetes.utils = _package("kubernetes.utils", f"{root}/utils", _utils_attribute)


def _package(name: str, path: str, resolve: Callable[[str], Any]) -> Any:
    module: Any = types.ModuleType(name, f"{name}, loaded name by name (chainlink_agent.k8s.leankube)")
    module.__path__ = [path]
    module.__package__ = name

    def __getattr__(attribute: str) -> Any:  # noqa: N807 - the PEP 562 hook
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        value = resolve(attribute)
        setattr(module, attribute, value)
        return value

    module.__getattr__ = __getattr__
    sys.modules[name] = module
    return module


def _submodule(package: str, name: str) -> types.ModuleType:
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as exc:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from exc


def _client_attribute(name: str) -> Any:
    if name in (*_CLIENT_MODULES, "rest"):
        return _submodule("kubernetes.client", name)
    for module_name in _CLIENT_MODULES:
        module = _submodule("kubernetes.client", module_name)
        if hasattr(module, name):
            return getattr(module, name)
    if name.endswith("Api"):
        return _api_attribute(name)
    return _model(name)


# kubernetes.config's names, by the module that holds them. kube_config imports oauthlib, requests-oauthlib
# and yaml (about 10 MiB), which only a kubeconfig needs: a pod loads incluster_config alone.
_CONFIG_MODULES = {
    "ConfigException": "config_exception",
    "load_incluster_config": "incluster_config",
    "load_kube_config": "kube_config",
}


def _config_attribute(name: str) -> Any:
    if name not in _CONFIG_MODULES:
        return _submodule("kubernetes.config", name)
    return getattr(_submodule("kubernetes.config", _CONFIG_MODULES[name]), name)


# kubernetes.utils' names, by module, in the order its __init__ imports them but create_from_yaml last: that
# one imports yaml (and a function has its name). The REST layer (kubernetes 37) imports retry and keepalive
# alone.
_UTILS_MODULES = ("quantity", "duration", "metrics", "retry", "keepalive", "create_from_yaml")


def _utils_attribute(name: str) -> Any:
    if name != "create_from_yaml" and importlib.util.find_spec(f"kubernetes.utils.{name}") is not None:
        return _submodule("kubernetes.utils", name)
    for module_name in _UTILS_MODULES:
        module = _submodule("kubernetes.utils", module_name)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'kubernetes.utils' has no attribute {name!r}")


def _api_attribute(name: str) -> Any:
    if not name.endswith("Api"):
        return _submodule("kubernetes.client.api", name)
    return getattr(_submodule("kubernetes.client.api", underscore(name)), name)


def _model(name: str) -> Any:
    return getattr(_submodule("kubernetes.client.models", underscore(name)), name)
