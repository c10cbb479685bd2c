"""Job TOML validation as the node does it before storing a job.

Sources (smartcontractkit/chainlink; commits as read_file returned them):
- core/web/jobs_controller.go @ f12ac0fd98264a8fc3861aff5000e1ccb92d9244, JobsController.validateJobSpec:
  job.ValidateSpec errors -> 422 "failed to parse TOML: <err>"; unknown type in the switch -> 422
  "unknown job type: <type>"; the per-type Validated*Spec errors -> 400; OCR / OCR2 disabled by
  configuration -> 501.
- core/services/job/validate.go @ 83284cc717759a496d6c7b8d786c9959903f357e, ValidateSpec: ErrInvalidJobType
  "invalid job type", ErrInvalidSchemaVersion "invalid schema version", ErrNoPipelineSpec "pipeline spec
  not specified", and the "'<{}>' syntax is not supported" check.
- core/services/job/models.go @ 95202ca3cceb3a37b62b6ca6bc3abc6524401e37: requiresPipelineSpec and
  schemaVersions (1 for every type).

The node parses TOML with pelletier/go-toml v1; the double uses tomllib, so for malformed TOML the
"failed to parse TOML: " prefix is the node's and the rest of the detail is tomllib's message.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass, field
from typing import Any

from devkit.nodedouble import golike

# The job types JobsController.validateJobSpec has a case for (jobs_controller.go @ f12ac0fd).
JOB_TYPES = frozenset(
    {
        "offchainreporting",
        "offchainreporting2",
        "directrequest",
        "fluxmonitor",
        "keeper",
        "cron",
        "vrf",
        "webhook",
        "blockhashstore",
        "blockheaderfeeder",
        "bootstrap",
        "gateway",
        "stream",
        "workflow",
    }
)
# models.go requiresPipelineSpec: the types whose observationSource may not be empty.
REQUIRES_PIPELINE = frozenset({"cron", "directrequest", "fluxmonitor", "stream", "vrf", "webhook"})
# Features off by default in node config; jobs_controller.go answers 501 with these texts when off.
FEATURE_DISABLED = {
    "offchainreporting": "The Offchain Reporting feature is disabled by configuration",
    "offchainreporting2": "The Offchain Reporting 2 feature is disabled by configuration",
}


# The per-type specs of presenters/job.go @ f12ac0fd, as (json key, TOML key, kind) in struct field
# order. The kind says what the Go field marshals to when the TOML gives nothing: "str" -> "",
# "opt" -> null, "num" -> 0, "bool" -> false, "interval" -> a models.Interval string ("0s"),
# "optinterval" -> null or an Interval, "nanos" -> a time.Duration (JSON integer nanoseconds),
# "text" -> null or a big number / amount as a JSON string, "created"/"updated" -> the spec row's
# timestamps, "zero" -> an unset time.Time, "const:<v>" -> always v (fields the presenter never
# assigns from the spec keep their zero value).
SPEC_FIELDS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "directrequest": (
        "directRequestSpec",
        [
            ("contractAddress", "contractAddress", "str"),
            ("minIncomingConfirmations", "minIncomingConfirmations", "opt"),
            ("minContractPaymentLinkJuels", "minContractPaymentLinkJuels", "text"),
            ("requesters", "requesters", "opt"),
            ("initiator", "", "const:runlog"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("evmChainID", "evmChainID", "text"),
        ],
    ),
    "fluxmonitor": (
        "fluxMonitorSpec",
        [
            ("contractAddress", "contractAddress", "str"),
            ("threshold", "threshold", "num"),
            ("absoluteThreshold", "absoluteThreshold", "num"),
            ("pollTimerPeriod", "pollTimerPeriod", "interval"),
            ("pollTimerDisabled", "pollTimerDisabled", "bool"),
            ("idleTimerPeriod", "idleTimerPeriod", "interval"),
            ("idleTimerDisabled", "idleTimerDisabled", "bool"),
            ("drumbeatEnabled", "drumbeatEnabled", "bool"),
            ("drumbeatSchedule", "drumbeatSchedule", "opt"),
            ("drumbeatRandomDelay", "drumbeatRandomDelay", "optinterval"),
            ("minPayment", "minPayment", "text"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("evmChainID", "evmChainID", "text"),
        ],
    ),
    "cron": (
        "cronSpec",
        [("schedule", "schedule", "str"), ("createdAt", "", "created"), ("updatedAt", "", "updated")],
    ),
    "offchainreporting": (
        "offChainReportingOracleSpec",
        [
            ("contractAddress", "contractAddress", "str"),
            ("p2pv2Bootstrappers", "p2pv2Bootstrappers", "opt"),
            ("isBootstrapPeer", "isBootstrapPeer", "bool"),
            ("keyBundleID", "keyBundleID", "opt"),
            ("transmitterAddress", "transmitterAddress", "opt"),
            ("observationTimeout", "observationTimeout", "interval"),
            ("blockchainTimeout", "blockchainTimeout", "interval"),
            ("contractConfigTrackerSubscribeInterval", "contractConfigTrackerSubscribeInterval", "interval"),
            ("contractConfigTrackerPollInterval", "contractConfigTrackerPollInterval", "interval"),
            ("contractConfigConfirmations", "contractConfigConfirmations", "num"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("evmChainID", "evmChainID", "text"),
            ("databaseTimeout", "databaseTimeout", "optinterval"),
            ("observationGracePeriod", "observationGracePeriod", "optinterval"),
            ("contractTransmitterTransmitTimeout", "contractTransmitterTransmitTimeout", "optinterval"),
        ],
    ),
    "offchainreporting2": (
        "offChainReporting2OracleSpec",
        [
            ("contractID", "contractID", "str"),
            ("relay", "relay", "str"),
            ("relayConfig", "relayConfig", "opt"),
            ("p2pv2Bootstrappers", "p2pv2Bootstrappers", "opt"),
            ("ocrKeyBundleID", "ocrKeyBundleID", "opt"),
            ("transmitterID", "transmitterID", "opt"),
            ("observationTimeout", "", "const:0s"),  # NewOffChainReporting2Spec never sets it
            ("blockchainTimeout", "blockchainTimeout", "interval"),
            ("contractConfigTrackerPollInterval", "contractConfigTrackerPollInterval", "interval"),
            ("contractConfigConfirmations", "contractConfigConfirmations", "num"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("collectTelemetry", "captureEATelemetry", "bool"),
        ],
    ),
    "keeper": (
        "keeperSpec",
        [
            ("contractAddress", "contractAddress", "str"),
            ("fromAddress", "fromAddress", "str"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("evmChainID", "evmChainID", "text"),
        ],
    ),
    "vrf": (
        "vrfSpec",
        [
            ("batchCoordinatorAddress", "batchCoordinatorAddress", "opt"),
            ("batchFulfillmentEnabled", "batchFulfillmentEnabled", "bool"),
            ("customRevertsPipelineEnabled", "customRevertsPipelineEnabled", "bool"),
            ("batchFulfillmentGasMultiplier", "batchFulfillmentGasMultiplier", "num"),
            ("coordinatorAddress", "coordinatorAddress", "str"),
            ("publicKey", "publicKey", "str"),
            ("fromAddresses", "fromAddresses", "opt"),
            ("pollPeriod", "pollPeriod", "interval"),
            ("confirmations", "minIncomingConfirmations", "num"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
            ("evmChainID", "evmChainID", "text"),
            ("chunkSize", "chunkSize", "num"),
            ("requestTimeout", "requestTimeout", "interval"),
            ("backoffInitialDelay", "backoffInitialDelay", "interval"),
            ("backoffMaxDelay", "backoffMaxDelay", "interval"),
            ("gasLanePrice", "gasLanePrice", "text"),
            ("requestedConfsDelay", "requestedConfsDelay", "num"),
        ],
    ),
    "webhook": ("webhookSpec", [("createdAt", "", "created"), ("updatedAt", "", "updated")]),
    "blockhashstore": (
        "blockhashStoreSpec",
        [
            ("coordinatorV1Address", "coordinatorV1Address", "opt"),
            ("coordinatorV2Address", "coordinatorV2Address", "opt"),
            ("coordinatorV2PlusAddress", "coordinatorV2PlusAddress", "opt"),
            ("waitBlocks", "waitBlocks", "num"),
            ("lookbackBlocks", "lookbackBlocks", "num"),
            ("heartbeatPeriod", "heartbeatPeriod", "nanos"),
            ("blockhashStoreAddress", "blockhashStoreAddress", "str"),
            ("trustedBlockhashStoreAddress", "trustedBlockhashStoreAddress", "opt"),
            ("trustedBlockhashStoreBatchSize", "trustedBlockhashStoreBatchSize", "num"),
            ("pollPeriod", "pollPeriod", "nanos"),
            ("runTimeout", "runTimeout", "nanos"),
            ("evmChainID", "evmChainID", "text"),
            ("fromAddresses", "fromAddresses", "opt"),
            ("createdAt", "", "zero"),  # NewBlockhashStoreSpec leaves both unset
            ("updatedAt", "", "zero"),
        ],
    ),
    "blockheaderfeeder": (
        "blockHeaderFeederSpec",
        [
            ("coordinatorV1Address", "coordinatorV1Address", "opt"),
            ("coordinatorV2Address", "coordinatorV2Address", "opt"),
            ("coordinatorV2PlusAddress", "coordinatorV2PlusAddress", "opt"),
            ("waitBlocks", "waitBlocks", "num"),
            ("lookbackBlocks", "lookbackBlocks", "num"),
            ("blockhashStoreAddress", "blockhashStoreAddress", "str"),
            ("batchBlockhashStoreAddress", "batchBlockhashStoreAddress", "str"),
            ("pollPeriod", "pollPeriod", "nanos"),
            ("runTimeout", "runTimeout", "nanos"),
            ("evmChainID", "evmChainID", "text"),
            ("fromAddresses", "fromAddresses", "opt"),
            ("getBlockhashesBatchSize", "getBlockhashesBatchSize", "num"),
            ("storeBlockhashesBatchSize", "storeBlockhashesBatchSize", "num"),
            ("createdAt", "", "zero"),  # NewBlockHeaderFeederSpec leaves both unset
            ("updatedAt", "", "zero"),
        ],
    ),
    "bootstrap": (
        "bootstrapSpec",
        [
            ("contractID", "contractID", "str"),
            ("relay", "relay", "str"),
            ("relayConfig", "relayConfig", "opt"),
            ("blockchainTimeout", "blockchainTimeout", "interval"),
            ("contractConfigTrackerSubscribeInterval", "", "const:0s"),  # NewBootstrapSpec never sets it
            ("contractConfigTrackerPollInterval", "contractConfigTrackerPollInterval", "interval"),
            ("contractConfigConfirmations", "contractConfigConfirmations", "num"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
        ],
    ),
    "gateway": (
        "gatewaySpec",
        [
            ("gatewayConfig", "gatewayConfig", "opt"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
        ],
    ),
    "workflow": (
        "workflowSpec",
        [
            ("workflow", "workflow", "str"),
            ("workflowId", "workflowId", "str"),
            ("workflowOwner", "workflowOwner", "str"),
            ("workflowName", "workflowName", "str"),
            ("createdAt", "", "created"),
            ("updatedAt", "", "updated"),
        ],
    ),
}


class NodeError(Exception):
    """An answer the node gives as {"errors": [{"detail": ...}, ...]} with this status."""

    def __init__(self, status: int, *details: str) -> None:
        super().__init__("; ".join(details))
        self.status = status
        self.details = list(details)


@dataclass
class JobSpec:
    """A job TOML that passed validation: the fields the node keeps, plus the TOML itself."""

    type: str
    toml: str
    values: dict[str, Any]
    name: str | None
    external_job_id: uuid.UUID | None
    max_task_duration: str
    gas_limit: int | None
    forwarding_allowed: bool
    observation_source: str
    stream_id: int | None
    bridge_names: list[str] = field(default_factory=list)


def _toml_error(detail: str) -> NodeError:
    return NodeError(422, f"failed to parse TOML: {detail}")


def _typed(values: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = values.get(key, default)
    if value is not default and (not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)):
        # go-toml's own wording for a mistyped key is not reproduced; the prefix is the node's.
        raise _toml_error(f"{key}: unexpected {type(value).__name__} value {value!r}")
    return value


def validate_job_spec(toml_text: str, disabled_features: frozenset[str] = frozenset()) -> JobSpec:
    """JobsController.validateJobSpec: the checks run for POST and PUT /v2/jobs alike."""
    try:
        values = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(str(exc)) from exc

    external_job_id = None
    raw_external_id = _typed(values, "externalJobID", str, None)
    if raw_external_id is not None:
        try:
            external_job_id = golike.parse_uuid(raw_external_id)
        except ValueError as exc:
            raise _toml_error(str(exc)) from exc
    try:
        max_task_duration = golike.normalise_duration(_typed(values, "maxTaskDuration", str, "0s"))
    except ValueError as exc:
        raise _toml_error(str(exc)) from exc

    # job.ValidateSpec, in its order.
    job_type = _typed(values, "type", str, "")
    if job_type not in JOB_TYPES:
        raise _toml_error("invalid job type")
    if _typed(values, "schemaVersion", int, 0) != 1:
        raise _toml_error("invalid schema version")
    observation_source = _typed(values, "observationSource", str, "")
    if job_type in REQUIRES_PIPELINE and not observation_source:
        raise _toml_error("pipeline spec not specified")
    if "<{}>" in toml_text:
        raise _toml_error("'<{}>' syntax is not supported. Please use \"{}\" instead")

    # validateJobSpec's switch: the type's Validated*Spec (400), then the feature flags (501). Of the
    # per-type checks the double makes only the decoding of its duration fields; go-toml's wrapping of
    # time.ParseDuration's error is not reproduced.
    for _, toml_key, kind in SPEC_FIELDS.get(job_type, ("", []))[1]:
        value = values.get(toml_key)
        if kind in ("interval", "optinterval", "nanos") and value is not None:
            try:
                golike.parse_duration(_typed(values, toml_key, str, None))
            except ValueError as exc:
                raise NodeError(400, str(exc)) from exc
    if job_type in disabled_features:
        raise NodeError(501, FEATURE_DISABLED[job_type])
    gas_limit = _typed(values, "gasLimit", int, None)
    stream_id = _typed(values, "streamID", int, None)
    return JobSpec(
        type=job_type,
        toml=toml_text,
        values=values,
        name=_typed(values, "name", str, None),
        external_job_id=external_job_id,
        max_task_duration=max_task_duration,
        gas_limit=gas_limit,
        forwarding_allowed=_typed(values, "forwardingAllowed", bool, False),
        observation_source=observation_source,
        stream_id=stream_id,
        bridge_names=bridge_task_names(observation_source),
    )


_ATTRIBUTE = re.compile(r'([A-Za-z_]\w*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,;\]]+)')


def _attribute_lists(dot: str) -> list[str]:
    """The contents of every [...] attribute list of a DOT pipeline, skipping brackets in strings."""
    lists: list[str] = []
    start, in_string, escaped = None, False, False
    for index, char in enumerate(dot):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[":
            start = index + 1
        elif char == "]" and start is not None:
            lists.append(dot[start:index])
            start = None
    return lists


def task_attributes(dot: str) -> list[dict[str, str]]:
    """The attributes of each task of a DOT pipeline, quotes removed."""
    tasks = []
    for attributes in _attribute_lists(dot):
        parsed = {}
        for match in _ATTRIBUTE.finditer(attributes):
            key, value = match.groups()
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            parsed[key] = value
        tasks.append(parsed)
    return tasks


def bridge_task_names(dot: str) -> list[str]:
    """The names of the bridge tasks, in order and without repeats, as ORM.AssertBridgesExist collects
    them (core/services/job/orm.go) before checking that each bridge exists."""
    names: list[str] = []
    for task in task_attributes(dot):
        name = task.get("name")
        if task.get("type") == "bridge" and name is not None and name not in names:
            names.append(name)
    return names
