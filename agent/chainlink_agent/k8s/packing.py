"""How the informers keep an object in memory: its compact JSON, deflated against a preset dictionary.

At 10,000 resources the two informer caches (the resources and this node's placements) are the agent's
largest data: about 470 and 670 bytes of JSON each. Deflate alone gains little on objects that small (it has
nothing to refer back to yet); a preset dictionary (RFC 1950's FDICT, zlib's zdict) holding the field names
and words every such object repeats brings each to 140-180 bytes, about 8 MiB less at 10,000 (bench/README.md,
"RSS at 10,000 resources"). Inflating one takes a few microseconds, next to milliseconds of API calls per
reconcile. The dictionary is the objects' common vocabulary (CRD field names, phases, job TOML keywords),
nothing of the bench's own data; changing it needs no migration, the caches live only in memory.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from chainlink_agent.model.phases import PHASES

# zlib finds matches nearest the dictionary's end cheapest, so the commonest fragments come last.
DICTIONARY = "".join(
    (
        # Job TOML: the keywords and task types of the node's job specs (core/services/job, pipeline tasks).
        'type = "directrequest""offchainreporting2""cron""fluxmonitor""keeper""vrf""bootstrap""webhook"',
        '\\nschemaVersion = 1\\nname = \\"\\nexternalJobID = \\"\\ncontractAddress = \\"\\nevmChainID = \\"',
        '\\nobservationSource = \\"\\"\\"\\n[type=http method=GET url=\\"[type=jsonparse path=\\"',
        '[type=multiply times=[type=bridge name=\\"[type=ethabidecode[type=ethtx[type=median]',
        # A placement (model/placement.py body and slim), its status as conditions.placement_status writes.
        "".join(f'"phase":"{phase}"' for phase in PHASES),
        '{"metadata":{"name":"job.","namespace":"","resourceVersion":""},"spec":{"kind":"ChainlinkBridge",',
        '"status":{"phase":"Synced","message":"","observedGeneration":1,"conditions":[{"type":"Synced",',
        '"status":"True","observedGeneration":1,"lastTransitionTime":"","reason":"JobSynced","message":"',
        '"}],"jobID":"","externalJobID":"","specHash":"","lastSyncTime":"","owned":true,"bridgeName":"',
        '"spec":{"kind":"ChainlinkJob","name":"","uid":"","node":""},"status":{"phase":"Synced","message":"',
        # A resource as resource.slim_for_node keeps it.
        '{"apiVersion":"chainlink-k8s.github.io/v1alpha1","kind":"ChainlinkBridge","metadata":{"namespace":"',
        '","name":"","uid":"","generation":1,"resourceVersion":"","creationTimestamp":"","deletionTimestamp":"',
        '","labels":{}},"spec":{"name":"","url":"","confirmations":0,"minimumContractPayment":"","urlFrom":',
        '{"apiVersion":"chainlink-k8s.github.io/v1alpha1","kind":"ChainlinkJob","metadata":{"namespace":"',
        '","name":"","uid":"","generation":1,"resourceVersion":"","creationTimestamp":"","labels":{}},',
        '"spec":{"toml":"type = \\"webhook\\"\\nschemaVersion = 1\\nname = \\"',
        '\\nobservationSource = \\"\\"\\"\\n',
        '","targets":{"names":[""]}},"statusDigest":""}',
    )
).encode()
# Raw deflate (negative wbits): no zlib header or checksum, six bytes an object that memory never corrupts.
_WBITS = -15


def pack(obj: dict[str, Any]) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, _WBITS, zdict=DICTIONARY)
    return compressor.compress(json.dumps(obj, separators=(",", ":")).encode()) + compressor.flush()


def text(packed: bytes) -> bytes:
    """The object's JSON text."""
    inflater = zlib.decompressobj(_WBITS, zdict=DICTIONARY)
    return inflater.decompress(packed) + inflater.flush()


def unpack(packed: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(text(packed))
    return obj
