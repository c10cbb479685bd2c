"""The state of a Chainlink node double: its user and sessions, jobs, bridges and keys.

Thread-safe (one lock), pure Python, no HTTP. Errors are NodeError with the status and detail the
node's controllers answer with. Sources (smartcontractkit/chainlink, commit as read_file returned it):
- core/sessions/localauth/orm.go @ e9ba8a1076578392f25bedd121ae2a32f3bd5821: CreateSession (unknown email
  -> "sql: no rows in result set", wrong password -> "Invalid password"), AuthorizedUserWithSession
  (sessions expire SessionTimeout after their last use -> ErrUserSessionExpired), DeleteUserSession.
- core/sessions/authentication.go (ErrUserSessionExpired) and core/auth/auth.go @ fae768b2 (ErrorAuthFailed).
- core/services/job/orm.go, its recent version (with job_pipeline_specs) and
  @ 93d3844b3843b09cd2b970b61185bcff7ba94097: CreateJob, InsertJob, DeleteJob, FindJobs, findJob.
- core/services/job/spawner.go (its recent version): DeleteJob's "job %d not found".
- core/store/migrate/migrations/0036_external_job_id.go @ d3fece0c: constraint external_job_id_uniq.
  Job names are unique since chainlink PR #4978 (index idx_jobs_name, still present in PR #11005).
- core/web/bridge_types_controller.go @ 6f509cb02c9c9b1b16f613156ff8909b60106fe3 and
  core/bridges/bridge_type.go (ParseBridgeName, NewBridgeType), bridges ORM FindBridges.
- v2.23.0 (the module the real-node lane builds): core/chains/legacyevm/chain.go listNodeStatuses (each
  configured RPC node's state, in config order); core/web/eth_keys_controller.go getEthBalance (null when
  the key's chain has no live RPC node: chainlink-framework multinode/multi_node.go selectNode answers
  ErrNodeError); chainlink-framework chains/heads/tracker.go (head_tracker_current_head, set once a head
  is seen).
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from devkit.nodedouble import keystore
from devkit.nodedouble.keys import (
    OCR2_CHAIN_TYPES,
    EthKey,
    OCR2Key,
    OCRKey,
    P2PKey,
    new_ocr2_key,
    seed_keys,
)
from devkit.nodedouble.spec import JobSpec, NodeError, task_attributes

AUTH_FAILED = "Authentication failed"  # core/auth/auth.go ErrorAuthFailed
SESSION_EXPIRED = "session missing or expired, please login again"  # core/sessions ErrUserSessionExpired
NO_ROWS = "sql: no rows in result set"  # database/sql ErrNoRows, returned as-is by localauth FindUser
# orm.go CreateJob: these types' specs must name their EVM chain.
EVM_CHAIN_REQUIRED = frozenset(
    {
        "directrequest",
        "fluxmonitor",
        "offchainreporting",
        "keeper",
        "vrf",
        "blockhashstore",
        "blockheaderfeeder",
    }
)
_BRIDGE_NAME = re.compile(r"[a-zA-Z0-9-_]*")  # bridge_type.go bridgeNameRegex


def _unique_violation(constraint: str) -> NodeError:
    # CreateJob wraps InsertJob's pgconn.PgError; the controller answers 500 for it.
    return NodeError(
        500,
        "CreateJobFailed: failed to insert job: ERROR: duplicate key value violates unique constraint "
        f'"{constraint}" (SQLSTATE 23505)',
    )


def parse_bridge_name(name: str) -> str:
    """bridges.ParseBridgeName: validate the characters, then lowercase."""
    if not _BRIDGE_NAME.fullmatch(name):
        raise ValueError(f"task type validation: name {name} contains invalid characters")
    return name.lower()


@dataclass
class Job:
    id: int
    spec: JobSpec
    external_job_id: uuid.UUID
    pipeline_spec_id: int
    created_at: datetime
    order: int  # insertion order, standing in for the created_at the ORM sorts on


@dataclass
class Chain:
    """An EVM chain of the node's config: its RPC nodes' states by name, in config order. While one is Alive
    the chain makes a block a second from the node's start, as the bench's dev chain does; with none Alive
    the node sees no head at all."""

    id: str
    rpcs: dict[str, str]
    started: float = field(default_factory=time.time)

    @property
    def alive(self) -> bool:
        return "Alive" in self.rpcs.values()

    def head(self) -> int | None:
        return 1 + int(time.time() - self.started) if self.alive else None


@dataclass
class Bridge:
    name: str
    url: str
    confirmations: int
    minimum_contract_payment: str | None
    incoming_token: str
    outgoing_token: str
    created_at: datetime


def _new_secret() -> str:
    # utils.NewSecret(24): base64 of 24 random bytes, as NewBridgeType makes both tokens.
    return base64.b64encode(os.urandom(24)).decode()


class NodeState:
    """One node's state. Public methods take the lock; the node's single admin user is fixed."""

    def __init__(
        self,
        email: str,
        password: str,
        *,
        evm_chain_id: str = "1337",
        key_seed: str = "node-double",
        session_timeout: float = 15 * 60,
        rpcs: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.email = email
        self.password = password
        self.evm_chain_id = evm_chain_id
        # Chain ID -> {RPC node name: state}; by default the keys' chain with one Alive RPC node.
        rpcs = rpcs or {evm_chain_id: {"primary-0": "Alive"}}
        self.chains = {chain_id: Chain(chain_id, dict(nodes)) for chain_id, nodes in rpcs.items()}
        self.balances: dict[str, int] = {}  # address -> wei; 0 unless set
        self.key_seed = key_seed
        # WebServer.SessionTimeout (default 15m): a session expires that long after its last use.
        self.session_timeout = session_timeout
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to a freshly started node: no sessions, jobs or bridges; the same seeded keys."""
        with self._lock:
            self._sessions: dict[str, float] = {}
            self._issued: set[str] = set()
            self._jobs: dict[int, Job] = {}
            self._job_ids = itertools.count(1)
            self._pipeline_spec_ids = itertools.count(1)
            self._order = itertools.count()
            self._bridges: dict[str, Bridge] = {}
            self.eth_keys: list[EthKey]
            self.p2p_keys: list[P2PKey]
            self.ocr2_keys: list[OCR2Key]
            self.csa_keys: list[str]  # public keys, hex
            self.eth_keys, self.p2p_keys, self.ocr2_keys, self.csa_keys = seed_keys(
                self.key_seed, self.evm_chain_id, datetime.now(UTC)
            )
            self.ocr_keys: list[OCRKey] = []  # as a node with OCR (v1) disabled: it makes none itself

    # Sessions ---------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> str:
        """localauth CreateSession: a new session ID for the right credentials."""
        with self._lock:
            if email.lower() != self.email.lower():
                raise NodeError(401, NO_ROWS)
            if password != self.password:
                raise NodeError(401, "Invalid password")
            token = secrets.token_urlsafe(32)
            self._sessions[token] = time.monotonic()
            self._issued.add(token)
            return token

    def authenticate(self, token: str | None) -> None:
        """auth.AuthenticateBySession: no (or an undecodable) cookie fails with ErrorAuthFailed; a
        cookie naming a deleted or idle-expired session with ErrUserSessionExpired."""
        with self._lock:
            if token is None or token not in self._issued:
                raise NodeError(401, AUTH_FAILED)
            last_used = self._sessions.get(token)
            now = time.monotonic()
            if last_used is None or now - last_used > self.session_timeout:
                self._sessions.pop(token, None)
                raise NodeError(401, SESSION_EXPIRED)
            self._sessions[token] = now

    def logout(self, token: str) -> None:
        """DeleteUserSession: the session row goes; the client keeps its (now useless) cookie."""
        with self._lock:
            self._sessions.pop(token, None)

    def expire_sessions(self) -> None:
        """Double-only: every session ends now, as if reaped."""
        with self._lock:
            self._sessions.clear()

    # Jobs -------------------------------------------------------------------------------------

    def add_job(self, spec: JobSpec, job_id: int | None = None) -> Job:
        """spawner.CreateJob -> ORM.CreateJob. job_id is given by PUT, which reinserts under the old ID."""
        with self._lock:
            self._assert_bridges_exist(spec.bridge_names)
            external_job_id = spec.external_job_id
            if external_job_id is None or external_job_id.int == 0:
                external_job_id = uuid.uuid4()  # "Autogenerate a job ID if not specified"
            if spec.type in EVM_CHAIN_REQUIRED and spec.values.get("evmChainID") is None:
                raise NodeError(500, "CreateJobFailed: evm chain id must be defined")
            bundle = spec.values.get("ocrKeyBundleID")
            known = {key.id for key in self.ocr2_keys}
            if spec.type == "offchainreporting2" and bundle is not None and bundle not in known:
                # errors.Wrapf(ErrNoSuchKeyBundle, ...); the controller answers 400 for it.
                raise NodeError(
                    400, f'CreateJobFailed: no key bundle with id: "{bundle}": no such key bundle exists'
                )
            pipeline_spec_id = next(self._pipeline_spec_ids)  # created before the job row
            # A failed INSERT still draws from the jobs id sequence.
            new_id = job_id if job_id is not None else next(self._job_ids)
            if any(job.external_job_id == external_job_id for job in self._jobs.values()):
                raise _unique_violation("external_job_id_uniq")
            if spec.name is not None and any(job.spec.name == spec.name for job in self._jobs.values()):
                raise _unique_violation("idx_jobs_name")
            job = Job(new_id, spec, external_job_id, pipeline_spec_id, datetime.now(UTC), next(self._order))
            self._jobs[new_id] = job
            if spec.type == "offchainreporting2" and not spec.values.get("p2pv2Bootstrappers"):
                # The job row is committed before its services are made (job/spawner.go CreateJob), and
                # ocr2/delegate.go ServicesForSpec fails without bootstrap peers (the double's node sets no
                # P2P.V2.DefaultBootstrappers): a 500, yet the job stays. Seen on a real v2.23.0 node.
                raise NodeError(500, f"failed to create services for job: {new_id}: no bootstrappers found")
            chain = spec.values.get("evmChainID")
            if spec.type == "directrequest" and str(chain) not in self.chains:
                # directrequest/delegate.go ServicesForSpec asks legacyChains.Get for the job's chain first;
                # chains/chain_kv.go Get: "%w: %s" of ErrNoSuchChainID.
                raise NodeError(
                    500, f"failed to create services for job: {new_id}: chain id does not exist: {chain}"
                )
            return job

    def balance(self, address: str, chain_id: str) -> int | None:
        """The key's balance on its chain, None when the node could not ask the chain (no such chain, or no
        RPC node Alive)."""
        with self._lock:
            chain = self.chains.get(chain_id)
            return self.balances.get(address, 0) if chain is not None and chain.alive else None

    def _assert_bridges_exist(self, names: list[str]) -> None:
        # ORM.AssertBridgesExist runs before CreateJob's transaction; its errors reach the client as 500.
        try:
            wanted = [parse_bridge_name(name) for name in names]
        except ValueError as exc:
            raise NodeError(500, str(exc)) from exc
        found = [name for name in wanted if name in self._bridges]
        if len(found) != len(wanted):
            # Go prints the found BridgeType structs here; the double prints their names.
            raise NodeError(
                500, f"not all bridges exist, asked for [{' '.join(wanted)}], exists [{' '.join(found)}]"
            )

    def find_job(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def find_job_by_external_id(self, external_job_id: uuid.UUID) -> Job | None:
        with self._lock:
            return next((job for job in self._jobs.values() if job.external_job_id == external_job_id), None)

    def list_jobs(self, offset: int, limit: int) -> tuple[list[Job], int]:
        """ORM.FindJobs: ORDER BY created_at DESC, id DESC OFFSET/LIMIT, and the total count."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda job: (job.order, job.id), reverse=True)
            return jobs[offset : offset + limit], len(jobs)

    def delete_job(self, job_id: int) -> None:
        """DELETE /v2/jobs/:ID: a missing job is sql.ErrNoRows, which the controller answers 404."""
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                raise NodeError(404, "JobSpec not found")

    def replace_job(self, job_id: int, spec: JobSpec) -> Job:
        """JobsController.Update: delete the job, then add the new spec under the same ID. Not atomic
        in the node: if adding fails, the old job stays deleted."""
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                not_found = f"job {job_id} not found: findJob failed: failed to load job: {NO_ROWS}"
                raise NodeError(404, f"failed to update job: {not_found}")
            return self.add_job(spec, job_id)

    def jobs_using_bridge(self, name: str) -> list[int]:
        """ORM.FindJobIDsWithBridge: jobs with a bridge task of exactly this name, by ID."""
        with self._lock:
            return sorted(
                job.id
                for job in self._jobs.values()
                if any(
                    task.get("type") == "bridge" and task.get("name") == name
                    for task in task_attributes(job.spec.observation_source)
                )
            )

    # Bridges ----------------------------------------------------------------------------------

    def create_bridge(
        self, name: str, url: str, confirmations: int, minimum_contract_payment: str | None
    ) -> Bridge:
        with self._lock:
            if name in self._bridges:
                # ValidateBridgeTypeNotExist, answered 400 by BridgeTypesController.Create.
                raise NodeError(400, f"Bridge Type {name} already exists")
            bridge = Bridge(
                name,
                url,
                confirmations,
                minimum_contract_payment,
                _new_secret(),
                _new_secret(),
                datetime.now(UTC),
            )
            self._bridges[name] = bridge
            return bridge

    def find_bridge(self, name: str) -> Bridge | None:
        with self._lock:
            return self._bridges.get(name)

    def list_bridges(self, offset: int, limit: int) -> tuple[list[Bridge], int]:
        """bridges ORM BridgeTypes: ORDER BY name, OFFSET/LIMIT, and the total count."""
        with self._lock:
            bridges = sorted(self._bridges.values(), key=lambda bridge: bridge.name)
            return bridges[offset : offset + limit], len(bridges)

    def update_bridge(
        self, name: str, url: str, confirmations: int, minimum_contract_payment: str | None
    ) -> Bridge:
        """UpdateBridgeType: URL, confirmations and minimum payment change; name and tokens stay."""
        with self._lock:
            bridge = self._bridges[name]
            bridge.url, bridge.confirmations = url, confirmations
            bridge.minimum_contract_payment = minimum_contract_payment
            return bridge

    def delete_bridge(self, name: str) -> Bridge:
        with self._lock:
            return self._bridges.pop(name)

    # Keys: core/web/ocr2_keys_controller.go @ 11b8439b ---------------------------------------------

    def create_ocr2_key(self, chain_type: str) -> OCR2Key:
        """OCR2().Create(chainType): a new bundle; an unknown chain type is chaintype.ErrInvalidChainType,
        which the controller answers 400."""
        with self._lock:
            if chain_type not in OCR2_CHAIN_TYPES:
                raise NodeError(400, f"invalid chain type: {chain_type}")  # the 400 is verified, not the text
            key = new_ocr2_key(os.urandom, chain_type)
            self.ocr2_keys.append(key)
            return key

    def import_key_bundle(self, key_type: str, body: bytes, password: str) -> OCRKey | OCR2Key:
        """OCR().Import and OCR2().Import (core/services/keystore/ocr.go, ocr2.go): decrypt, then add. OCR
        refuses an ID it holds; OCR2 looks for the ID in the OCR (v1) key ring instead, so it never
        refuses one and the bundle is stored again under the same ID."""
        key = keystore.decrypt(key_type, body, password)
        with self._lock:
            if isinstance(key, OCRKey):
                if any(k.id == key.id for k in self.ocr_keys):
                    raise NodeError(500, f"key with ID {key.id} already exists")
                self.ocr_keys.append(key)
            else:
                self.ocr2_keys = [k for k in self.ocr2_keys if k.id != key.id] + [key]
            return key

    def export_ocr2_key(self, key_id: str, password: str) -> bytes:
        """OCR2().Export (keystore/ocr2.go): the bundle encrypted under the new password; an unknown ID is
        an error, which the controller answers 500."""
        with self._lock:
            key = next((k for k in self.ocr2_keys if k.id == key_id), None)
        if key is None:
            raise NodeError(500, f"unable to find OCR2 key bundle with ID {key_id}")  # wording not verified
        return keystore.export(key, password)

    def delete_ocr2_key(self, key_id: str) -> OCR2Key:
        """OCR2().Get then Delete: an unknown ID is answered 404. The keystore does not check whether a job
        still names the bundle; such a job keeps its spec until it is replaced."""
        with self._lock:
            key = next((k for k in self.ocr2_keys if k.id == key_id), None)
            if key is None:
                raise NodeError(
                    404, f"unable to find OCR2 key bundle with ID {key_id}"
                )  # wording not verified
            self.ocr2_keys.remove(key)
            return key
