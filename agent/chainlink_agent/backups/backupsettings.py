"""Typed configuration of `chainlink-agent backup` and `restore-fetch`, from the environment the chart's
backup Job and restore init container set. The names are the chart's, without a common prefix: the S3
credentials are the AWS SDKs' own variables, so a Secret made for any S3 tool fits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator

from chainlink_agent.runtime.environment import FromEnvironment
from chainlink_agent.runtime.settings import NODE_NAME_PATTERN

# S3's bucket naming rules (lowercase letters, digits, dots and hyphens, 3 to 63 characters).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
LATEST = "latest"


class BackupDirectory(FromEnvironment):
    """Read on its own first: the FIFO the dump container waits for is made (and, on any failure, its writer
    released) even when the rest of the configuration is wrong."""

    directory: Path = Field(default=Path("/backup"), validation_alias="CHAINLINK_BACKUP_DIR")


class RestoreDirectory(FromEnvironment):
    """Read on its own first: a database that already holds a node (restore-check's skip file) needs none of
    the rest."""

    # CHAINLINK_BACKUP_DIR too: the chart sets that one in the restore-fetch container.
    directory: Path = Field(
        default=Path("/restore"),
        validation_alias=AliasChoices("CHAINLINK_RESTORE_DIR", "CHAINLINK_BACKUP_DIR"),
    )


class StoreSettings(FromEnvironment):
    """The object store and this node, as backup and restore both need them."""

    endpoint: str = Field(validation_alias="CHAINLINK_BACKUP_S3_ENDPOINT")
    bucket: str = Field(validation_alias="CHAINLINK_BACKUP_S3_BUCKET", pattern=BUCKET_PATTERN)
    prefix: str = Field(default="chainlink", validation_alias="CHAINLINK_BACKUP_S3_PREFIX", max_length=512)
    region: str = Field(default="us-east-1", validation_alias="CHAINLINK_BACKUP_S3_REGION", min_length=1)
    access_key: SecretStr = Field(validation_alias="AWS_ACCESS_KEY_ID")
    secret_key: SecretStr = Field(validation_alias="AWS_SECRET_ACCESS_KEY")
    node_name: str = Field(
        validation_alias="CHAINLINK_AGENT_NODE_NAME", pattern=NODE_NAME_PATTERN, max_length=63
    )
    # Where the node's ChainlinkNode and placements are (the backup records and saves them, a restore makes
    # them again).
    namespace: str = Field(validation_alias="CHAINLINK_AGENT_NAMESPACE", min_length=1)
    log_level: str = Field(default="INFO", validation_alias="CHAINLINK_AGENT_LOG_LEVEL")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        """http(s)://host[:port] and nothing else; the message never repeats the value, which could hold a
        password in its user part."""
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            raise ValueError("must be http(s)://host[:port]") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http(s)://host[:port]")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("must be http(s)://host[:port], without a path (the bucket is set on its own)")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip().strip("/")

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")

    @property
    def host(self) -> str:
        """host[:port], as the S3 client takes it."""
        return self.endpoint.split("://", 1)[1]


class BackupSettings(StoreSettings, BackupDirectory):
    # age1... public keys, separated by commas, spaces or newlines; parsed before the dump starts
    # (backup.parse_recipients), so that a wrong one fails the backup with its reason, recorded.
    recipients: str = Field(validation_alias="CHAINLINK_BACKUP_AGE_RECIPIENTS", min_length=1)
    retention_days: int = Field(default=0, validation_alias="CHAINLINK_BACKUP_RETENTION_DAYS", ge=0)
    trigger: Literal["Scheduled", "PreUpgrade"] = Field(
        default="Scheduled", validation_alias="CHAINLINK_BACKUP_TRIGGER"
    )
    # The CRD's status.backup.nodeVersion takes 64 characters.
    node_version: str = Field(default="", validation_alias="CHAINLINK_BACKUP_NODE_VERSION", max_length=64)

    @field_validator("node_version")
    @classmethod
    def _printable(cls, value: str) -> str:
        # It goes into S3 metadata, an HTTP header: printable ASCII only.
        value = value.strip()
        if not re.fullmatch(r"[\x20-\x7e]*", value):
            raise ValueError("must be printable ASCII")
        return value


class RestoreSettings(StoreSettings, RestoreDirectory):
    # A full object key, or `latest`: the newest backup under <prefix>/<from_node>/.
    key: str = Field(default=LATEST, validation_alias="CHAINLINK_RESTORE_KEY", min_length=1, max_length=1024)
    # Whose backups `latest` looks at: another node's, to clone or move it; by default this node's own.
    from_node: str | None = Field(
        default=None, validation_alias="CHAINLINK_RESTORE_FROM_NODE", pattern=NODE_NAME_PATTERN, max_length=63
    )
    identity_file: Path = Field(validation_alias="CHAINLINK_RESTORE_AGE_IDENTITY_FILE")

    @property
    def source_node(self) -> str:
        return self.from_node or self.node_name


def describe(exc: ValidationError) -> str:
    """The variables that are wrong and why, without their values: pydantic's own text repeats every input,
    the S3 secret key among them."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "configuration"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
