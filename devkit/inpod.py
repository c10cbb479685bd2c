"""`python -m devkit.inpod`: the agent as it starts in a pod, outside one.

In a pod the agent reads the ServiceAccount's token and CA from /var/run/secrets/kubernetes.io/serviceaccount
(kubernetes.config.incluster_config). Out of a pod it falls back to KUBECONFIG, whose loader imports
requests, oauthlib and yaml (about 6.6 MiB of RSS the sidecar never carries). The benchmark measures the
sidecar, so this points the in-cluster loader at files of the bench's choosing (DEVKIT_INPOD_TOKEN_FILE,
DEVKIT_INPOD_CA_FILE; KUBERNETES_SERVICE_HOST/PORT as the kubelet sets them) and runs the agent's entry point
unchanged. Nothing else is loaded before it.
"""

from __future__ import annotations

import os
import runpy

from chainlink_agent.k8s import leankube

leankube.install()  # first, as chainlink_agent.__main__ does: the lean kubernetes stand-ins

from kubernetes.config import incluster_config  # noqa: E402

incluster_config.SERVICE_TOKEN_FILENAME = os.environ["DEVKIT_INPOD_TOKEN_FILE"]
incluster_config.SERVICE_CERT_FILENAME = os.environ["DEVKIT_INPOD_CA_FILE"]
runpy.run_module("chainlink_agent", run_name="__main__", alter_sys=True)
