"""The node's side, as values: what the node reports (jobs, bridges, keys) and the bridge the agent wants
there. The bottom layer: the node client builds these, the snapshot holds them, plans and templates read
them, and nothing here imports the rest of the agent."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)  # one per job on the node: 10,000 of them at scale
class NodeJob:
    id: str
    external_job_id: str
    name: str | None = None


@dataclass(frozen=True)
class NodeBridge:
    """A bridge as the node lists it (GET /v2/bridge_types); its name is the node's, lowercased."""

    name: str
    url: str
    confirmations: int = 0
    minimum_contract_payment: str | None = None


@dataclass(frozen=True)
class DesiredBridge:
    name: str
    url: str
    confirmations: int
    minimum_contract_payment: str | None
    spec_hash: str

    def matches(self, bridge: NodeBridge) -> bool:
        """The node's copy has this spec. An unset payment is whatever the node keeps."""
        return (
            bridge.url == self.url
            and bridge.confirmations == self.confirmations
            and (self.minimum_contract_payment is None or bridge.minimum_contract_payment == self.payment)
        )

    @property
    def payment(self) -> str | None:
        return None if self.minimum_contract_payment is None else str(int(self.minimum_contract_payment))


@dataclass(frozen=True)
class EthKey:
    address: str
    evm_chain_id: str
    disabled: bool = False


@dataclass(frozen=True)
class EthBalance:
    """An ETH key as a report reads it: its balance in wei, None when the node could not read it from the
    chain."""

    address: str
    evm_chain_id: str
    wei: int | None
    disabled: bool = False


@dataclass(frozen=True)
class RpcNode:
    """One of an EVM chain's RPC nodes and its state as the node's multinode pool sees it (Alive, Unreachable,
    OutOfSync, InvalidChainID...)."""

    chain_id: str
    name: str
    state: str


@dataclass(frozen=True)
class P2PKey:
    peer_id: str
    public_key: str = ""


@dataclass(frozen=True)
class KeyBundle:
    """An OCR or OCR2 key bundle's ID and public parts (the node never lists the private ones)."""

    id: str
    chain_type: str = ""  # OCR2 only: evm, solana, ...
    onchain: str = ""  # OCR: onChainSigningAddress; OCR2: onchainPublicKey
    offchain: str = ""
    config: str = ""


@dataclass(frozen=True)
class NodeFacts:
    """What one node's keys API reports, listed once per resync, in the node's order."""

    p2p_keys: tuple[P2PKey, ...] = ()
    ocr_bundles: tuple[KeyBundle, ...] = ()
    ocr2_bundles: tuple[KeyBundle, ...] = ()
    eth_keys: tuple[EthKey, ...] = ()

    def preferring(self, bundle_ids: frozenset[str]) -> NodeFacts:
        """The same facts with these OCR/OCR2 bundles first. A node with OCR enabled makes a bundle of its
        own at its first start (keystore EnsureKeys), so an imported bundle sits next to that one, and a
        reference must resolve to the imported bundle."""
        if not bundle_ids:
            return self
        return replace(
            self,
            ocr_bundles=tuple(sorted(self.ocr_bundles, key=lambda b: b.id not in bundle_ids)),
            ocr2_bundles=tuple(sorted(self.ocr2_bundles, key=lambda b: b.id not in bundle_ids)),
        )
