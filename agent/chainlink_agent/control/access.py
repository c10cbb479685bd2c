"""Which Secrets and ConfigMaps a resource may have the agent read for it. Pure.

The namespace is the trust boundary, but a person who may create a ChainlinkJob may not read every Secret
in it: without these gates `{{ secret "other-node-secrets" "keystore-password" }}` would make the agent a
confused deputy. A reference is honoured only when
- the chart handed the object to this node (values agent.allowedSecrets / agent.allowedConfigMaps, which
  are also the Role's resourceNames, so the apiserver refuses the rest as well), and
- for a Secret, its owner consents: the annotation ALLOWED_NODES lists this node (or is "*"), and
- it is not a credential of a node or of Helm, whatever the lists say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from chainlink_agent.model.errors import InvalidSpec
from chainlink_agent.model.resource import GROUP

ALLOWED_NODES = f"{GROUP}/allowed-nodes"
# Helm's release records (the whole values of every release, generated passwords included) and tokens.
REFUSED_TYPES = frozenset({"helm.sh/release.v1", "kubernetes.io/service-account-token"})
# Every object the chart makes carries this label: a node's API, keystore and database credentials.
CHART_PART_OF = ("app.kubernetes.io/part-of", "chainlink-k8s")

Kind = Literal["Secret", "ConfigMap"]


@dataclass(frozen=True)
class Allowlist:
    node: str
    secrets: frozenset[str] = frozenset()
    config_maps: frozenset[str] = frozenset()

    def check_name(self, kind: Kind, name: str) -> None:
        """Before any read: a name the chart did not hand over is refused without asking the apiserver."""
        listed, value = (
            (self.secrets, "agent.allowedSecrets")
            if kind == "Secret"
            else (self.config_maps, "agent.allowedConfigMaps")
        )
        if name not in listed:
            raise InvalidSpec(
                "SecretNotAllowed" if kind == "Secret" else "ConfigMapNotAllowed",
                f"{kind} {name!r} is not one node {self.node} may read: list it in the chart value {value}",
            )

    def check_secret(
        self, name: str, secret_type: str | None, labels: Mapping[str, str], annotations: Mapping[str, str]
    ) -> None:
        """After the read, before the data is touched: what the Secret itself says about its use."""
        key, value = CHART_PART_OF
        if secret_type in REFUSED_TYPES or labels.get(key) == value:
            raise InvalidSpec(
                "SecretNotAllowed",
                f"Secret {name!r} holds a node's or Helm's own credentials and is never used in a spec",
            )
        allowed = {n.strip() for n in annotations.get(ALLOWED_NODES, "").split(",")}
        if self.node not in allowed and "*" not in allowed:
            raise InvalidSpec(
                "SecretNotAllowed",
                f"Secret {name!r} does not allow node {self.node}: its owner must list the node in its"
                f' annotation {ALLOWED_NODES} (comma-separated node names, or "*")',
            )
