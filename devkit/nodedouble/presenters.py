"""JSON:API documents as the node renders them (api2go jsonapi.Marshal of core/web/presenters types).

A resource is {"type", "id", "attributes"}: api2go takes type from GetName(), id from the embedded JAID
(json:"-", so not an attribute) and attributes from the struct's JSON in field order. Sources
(smartcontractkit/chainlink; commit as read_file returned it):
- core/web/presenters/job.go @ f12ac0fd98264a8fc3861aff5000e1ccb92d9244: JobResource and the per-type specs.
- core/web/presenters/bridges.go @ 4c9d3523aa4427c4e31f54280d0fedcfdf1dbfa7: BridgeResource, type "bridges".
- core/web/presenters/eth_key.go @ 1fb4203dc445b6bc03816cb414cae434f3909541: ETHKeyResource, type "eTHKeys".
- core/web/presenters/chain.go (v2.23.0): NodeResource, type "node".
- core/web/presenters/p2p_key.go and ocr_keys.go (their v2-keystore KeyV2 versions): types
  "encryptedP2PKeys" and "keyV2s".
- core/web/presenters/check.go @ 6ee371e172ab0c7e2ef1a5c84e699bff0ba673c6: Check, type "checks".
- core/web/sessions_controller.go @ e0c14a0ae805a9ebd958b30de92e68aed1ec312e: Session, type "session",
  id "sessionID".
- core/web/api.go (its page-based version; 04d979c1dd9b2504d585075fcfc6d8c62cfc7186 has the same
  logic with %+v): ParsePaginatedRequest, NewPaginatedResponse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from devkit.nodedouble import golike
from devkit.nodedouble.keys import EthKey, OCR2Key, OCRKey, P2PKey
from devkit.nodedouble.spec import SPEC_FIELDS
from devkit.nodedouble.state import Bridge, Job

ZERO_TIME = "0001-01-01T00:00:00Z"  # a Go time.Time nobody set


def resource(kind: str, resource_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "id": resource_id, "attributes": attributes}


def document(data: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": data}


def paginated(
    path: str, query: str, size: int, page: int, count: int, data: list[dict[str, Any]]
) -> dict[str, Any]:
    """NewPaginatedResponse: meta.count always; links.next / links.prev only when there are more
    records than one page holds (an empty links map is omitted by api2go's omitempty). A link is a bare
    string: api2go marshals a Link without meta as its href alone (seen on a real v2.23.0 node,
    tests/contract)."""

    def link(to_page: int) -> str:
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(size=str(size), page=str(to_page))
        return f"{path}?{urlencode(sorted(params.items()))}"  # url.Values.Encode sorts keys

    links = {}
    if count > size:
        if page * size < count:
            links["next"] = link(page + 1)
        if page > 1:
            links["prev"] = link(page - 1)
    return {**({"links": links} if links else {}), "data": data, "meta": {"count": count}}


def session(authenticated: bool) -> dict[str, Any]:
    return document(resource("session", "sessionID", {"authenticated": authenticated}))


# JobResource's spec fields in struct order; all but the job's own type are null.
SPEC_KEYS = [
    "directRequestSpec",
    "fluxMonitorSpec",
    "cronSpec",
    "offChainReportingOracleSpec",
    "offChainReporting2OracleSpec",
    "keeperSpec",
    "vrfSpec",
    "webhookSpec",
    "blockhashStoreSpec",
    "blockHeaderFeederSpec",
    "bootstrapSpec",
    "gatewaySpec",
    "workflowSpec",
]
_KINDS: dict[str, Callable[[Any, str], Any]] = {
    "str": lambda value, _: "" if value is None else value,
    "opt": lambda value, _: value,
    "num": lambda value, _: 0 if value is None else value,
    "bool": lambda value, _: False if value is None else value,
    "text": lambda value, _: None if value is None else str(value),
    "interval": lambda value, _: golike.normalise_duration(value) if value is not None else "0s",
    "optinterval": lambda value, _: golike.normalise_duration(value) if value is not None else None,
    "nanos": lambda value, _: golike.parse_duration(value) if value is not None else 0,
    "created": lambda _, created: created,
    "updated": lambda _, created: created,
    "zero": lambda _, __: ZERO_TIME,
}


def _spec_value(kind: str, value: Any, created: str) -> Any:
    if kind.startswith("const:"):
        return kind.removeprefix("const:")
    return _KINDS[kind](value, created)


def _spec(job: Job) -> tuple[str, dict[str, Any]] | None:
    if job.spec.type not in SPEC_FIELDS:
        return None  # stream jobs have no spec of their own
    key, fields = SPEC_FIELDS[job.spec.type]
    created = golike.format_time(job.created_at)
    values = job.spec.values
    attributes = {name: _spec_value(kind, values.get(toml_key), created) for name, toml_key, kind in fields}
    if job.spec.type == "fluxmonitor" and not attributes["drumbeatEnabled"]:
        attributes["drumbeatSchedule"] = None  # NewFluxMonitorSpec only reports it when enabled
    return key, attributes


def job(job: Job) -> dict[str, Any]:
    """presenters.NewJobResource (jobs have no createdAt of their own in the resource)."""
    spec = job.spec
    attributes: dict[str, Any] = {"name": spec.name or ""}
    if spec.stream_id is not None:
        attributes["streamID"] = spec.stream_id  # omitempty
    attributes.update(
        type=spec.type,
        schemaVersion=1,
        gasLimit=spec.gas_limit,
        forwardingAllowed=spec.forwarding_allowed,
        maxTaskDuration=spec.max_task_duration,
        externalJobID=str(job.external_job_id),
    )
    type_spec = _spec(job)
    for key in SPEC_KEYS:
        attributes[key] = type_spec[1] if type_spec is not None and type_spec[0] == key else None
    attributes["pipelineSpec"] = {
        "id": job.pipeline_spec_id,
        "jobID": job.id,
        "dotDagSource": spec.observation_source,
    }
    attributes["errors"] = []  # job_spec_errors: the double's jobs never fail
    return resource("jobs", str(job.id), attributes)


def bridge(bridge: Bridge, with_incoming_token: bool = False) -> dict[str, Any]:
    """NewBridgeResource; the incoming token is shown only in the answer to its creation (omitempty)."""
    attributes: dict[str, Any] = {
        "name": bridge.name,
        "url": bridge.url,
        "confirmations": bridge.confirmations,
    }
    if with_incoming_token:
        attributes["incomingToken"] = bridge.incoming_token
    attributes.update(
        outgoingToken=bridge.outgoing_token,
        minimumContractPayment=bridge.minimum_contract_payment,
        createdAt=golike.format_time(bridge.created_at),
    )
    return resource("bridges", bridge.name, attributes)


def eth_key(key: EthKey, wei: int | None) -> dict[str, Any]:
    """NewETHKeyResource. The balances come from the key's chain, null when the node could not ask it: ETH
    (assets.Eth) as wei in decimal, LINK as the dev chain answers for a chain without the LINK contract, "0"
    (seen on a real v2.23.0 node). maxGasPriceWei, from the chain's config, is left null."""
    stamp = golike.format_time(key.created_at)
    return resource(
        "eTHKeys",
        f"{key.evm_chain_id}/{key.address}",  # NewPrefixedJAID(address, chain ID)
        {
            "evmChainID": key.evm_chain_id,
            "address": key.address,
            "ethBalance": None if wei is None else str(wei),
            "linkBalance": None if wei is None else "0",
            "disabled": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "maxGasPriceWei": None,
        },
    )


def rpc_node(chain_id: str, name: str, state: str) -> dict[str, Any]:
    """NewNodeResource: the ID is NewPrefixedJAID(name, chain ID); config is the RPC node's TOML (the double
    leaves out the URLs it would hold)."""
    attributes = {"chainID": chain_id, "name": name, "config": f"Name = '{name}'\n", "state": state}
    return resource("node", f"{chain_id}/{name}", attributes)


def p2p_key(key: P2PKey) -> dict[str, Any]:
    return resource("encryptedP2PKeys", key.peer_id, {"peerId": key.peer_id, "publicKey": key.public_key})


def csa_key(public_key: str) -> dict[str, Any]:
    """NewCSAKeyResource (presenters/csa_key.go): the ID is the hex key, publicKey prefixed "csa_"."""
    return resource("csaKeys", public_key, {"publicKey": "csa_" + public_key, "version": 1})


def ocr2_key(key: OCR2Key) -> dict[str, Any]:
    return resource(
        "keyV2s",
        key.id,
        {
            "chainType": key.chain_type,
            "onchainPublicKey": key.onchain_public_key,
            "offchainPublicKey": key.offchain_public_key,
            "configPublicKey": key.config_public_key,
        },
    )


def ocr_key(key: OCRKey) -> dict[str, Any]:
    """NewOCRKeysBundleResource (presenters/ocr_keys.go): keyV2s, each part as its MarshalText prints it."""
    return resource(
        "keyV2s",
        key.id,
        {
            "onChainSigningAddress": key.on_chain_signing_address,
            "offChainPublicKey": key.off_chain_public_key,
            "configPublicKey": key.config_public_key,
        },
    )


def checks(names: list[str]) -> dict[str, Any]:
    """The health checker's report: every service passing."""
    return document(
        [resource("checks", name, {"name": name, "status": "passing", "output": ""}) for name in names]
    )
