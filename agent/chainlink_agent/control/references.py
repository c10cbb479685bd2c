"""Reads the Secrets and ConfigMaps a spec refers to, through the access gates (access.py), remembering
every Secret value for redaction (redaction.py). The only path from a spec to a Secret."""

from __future__ import annotations

import base64
from typing import Protocol

from kubernetes import client

from chainlink_agent.control.access import Allowlist
from chainlink_agent.model import redaction


class ObjectReader(Protocol):
    """The reads of Secrets and ConfigMaps (kube.Kube)."""

    def config_map_value(self, name: str, key: str) -> str | None: ...
    def secret(self, name: str) -> client.V1Secret | None: ...


class References:
    def __init__(self, kube: ObjectReader, allowlist: Allowlist) -> None:
        self._kube = kube
        self._allow = allowlist

    def config_map(self, name: str, key: str) -> str | None:
        """None when the ConfigMap or the key is missing; InvalidSpec when it is not this node's to read."""
        self._allow.check_name("ConfigMap", name)
        return self._kube.config_map_value(name, key)

    def secret(self, name: str, key: str) -> str | None:
        """Likewise for a Secret, whose data is decoded only once the Secret itself allows this node."""
        return self.secret_and_version(name, key)[0]

    def secret_and_version(self, name: str, key: str) -> tuple[str | None, str]:
        """The value, as secret() reads it, and the Secret's resourceVersion ("" when there is none): what a
        spec hash shown in status carries in the value's place, as it changes whenever the value does."""
        self._allow.check_name("Secret", name)
        secret = self._kube.secret(name)
        if secret is None:
            return None, ""
        meta = secret.metadata
        self._allow.check_secret(name, secret.type, meta.labels or {}, meta.annotations or {})
        version = str(meta.resource_version or "")
        encoded = (secret.data or {}).get(key)
        if encoded is None:
            return None, version
        value = base64.b64decode(encoded).decode()
        redaction.remember(value)
        return value, version
