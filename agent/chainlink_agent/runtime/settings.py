"""Typed configuration, from CHAINLINK_AGENT_* environment variables and the mounted credentials file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from chainlink_agent.runtime.environment import FromEnvironment

# Node names end placement names and key the status maps, so they follow the DNS label rules.
NODE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class BundleFiles(BaseModel):
    """An OCR or OCR2 key bundle to import, as the chart mounts it: its keystore JSON and password files."""

    type: Literal["ocr", "ocr2"]
    json_file: Path = Field(alias="json")
    password_file: Path = Field(alias="password")


class Settings(FromEnvironment):
    # Each field's variable is CHAINLINK_AGENT_ and its name in capitals; an error names the variable.
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=lambda name: "CHAINLINK_AGENT_" + name.upper())
    )

    node_name: str = Field(pattern=NODE_NAME_PATTERN, max_length=63)
    node_labels: dict[str, str] = Field(default_factory=dict)
    namespace: str
    node_url: str = "http://127.0.0.1:6688"
    # The chart's standby: two pods of this node on one database, one active at a time (role.py). The pod's
    # name (downward API) is then the agent's identity in the aggregator's election and the pod it labels.
    standby: bool = False
    pod_name: str | None = Field(default=None, max_length=253)
    # The node's own API credentials file (`node start --api`): email on line 1, password on line 2.
    credentials_file: Path
    resync_seconds: float = Field(default=300.0, gt=0)
    # How often the ChainlinkNode's status and gauges are refreshed (nodestatus.py); written only on change.
    report_seconds: float = Field(default=30.0, gt=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    http_host: str = "0.0.0.0"  # noqa: S104 - probes and Prometheus reach the sidecar through the pod IP
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    node_timeout_seconds: float = Field(default=30.0, gt=0)
    # The node's WebServer.RateLimit.Authenticated per AuthenticatedPeriod (the chart sets both sides from
    # one value): the agent paces itself to it (ratelimit.py).
    node_rate_limit: int = Field(default=1000, ge=1)
    node_rate_period_seconds: float = Field(default=60.0, gt=0)
    # JSON: the OCR/OCR2 bundles to import through the node's API (keyimport.py). ETH and P2P keys go
    # through the node's secrets TOML instead (keystoml.py, same variable in the init container).
    import_keys: list[BundleFiles] = Field(default_factory=list)
    # The admission self-test (admission.py): whether the agent is not ready while the API server accepts it
    # another node's placement. The chart sets it wherever it renders its admission policy; off (an agent run
    # by hand, or agent.admissionPolicy.allowUnprotected), the self-test only sets its gauge.
    admission_policy_required: bool = False
    # The chart's backups are on (backup.enabled): the agent exports when the last one succeeded.
    backup_enabled: bool = False
    # JSON lists: the Secrets and ConfigMaps specs may refer to (access.py); the chart renders the same
    # names as the Role's resourceNames. Empty: none.
    allowed_secrets: frozenset[str] = frozenset()
    allowed_config_maps: frozenset[str] = frozenset()
    # release-node only: the node's StatefulSet, stopped before the release so its sidecar cannot write
    # its placements back, and how long to wait for that.
    statefulset: str | None = None
    release_wait_seconds: float = Field(default=120.0, ge=0)
    # release-node after an upgrade that turned the agent off: wait for the StatefulSet to roll out a pod
    # without the sidecar instead of stopping the node.
    release_after_rollout: bool = False

    @model_validator(mode="after")
    def _standby_knows_its_pod(self) -> Settings:
        if self.standby and not self.pod_name:
            raise ValueError(
                "CHAINLINK_AGENT_STANDBY needs CHAINLINK_AGENT_POD_NAME (the downward API's pod name)"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class Credentials:
    """The node API login. The password is a SecretStr so a stray repr or log line never shows it."""

    def __init__(self, email: str, password: SecretStr) -> None:
        self.email = email
        self.password = password

    @classmethod
    def from_file(cls, path: Path) -> Credentials:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read the node API credentials file {path}: {exc.strerror}") from exc
        if len(lines) < 2 or not lines[0].strip() or not lines[1]:
            raise ValueError(
                f"the node API credentials file {path} must hold the email on line 1"
                " and the password on line 2"
            )
        return cls(lines[0].strip(), SecretStr(lines[1]))
