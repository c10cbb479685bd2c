"""The keys a node double is seeded with, in the formats the node prints them.

Real key material is never needed (the double signs nothing); what matters is that identifiers look
like the node's: EIP-55 checksummed addresses (ethkey, which needs Keccak-256, not in hashlib), p2p peer
IDs ("p2p_" + base58 multihash), and the prefixed OCR2 public keys of presenters/ocr_keys.go.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

_MASK = (1 << 64) - 1
_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# Rotation offsets r[x][y] of Keccak-f[1600].
_ROTATIONS = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)
_RATE = 136  # bytes, for a 256-bit output


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _keccak_f(lanes: list[int]) -> list[int]:
    for constant in _ROUND_CONSTANTS:
        columns = [lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20] for x in range(5)]
        lanes = [lanes[i] ^ columns[(i - 1) % 5] ^ _rotl(columns[(i + 1) % 5], 1) for i in range(25)]
        moved = [0] * 25
        for x in range(5):
            for y in range(5):
                moved[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(lanes[x + 5 * y], _ROTATIONS[x][y])
        lanes = [
            moved[i] ^ (~moved[(i + 1) % 5 + i - i % 5] & moved[(i + 2) % 5 + i - i % 5]) for i in range(25)
        ]
        lanes[0] ^= constant
    return lanes


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (original Keccak padding, not SHA3-256's)."""
    padded = bytearray(data) + b"\x01" + bytes(-(len(data) + 1) % _RATE)
    padded[-1] |= 0x80
    lanes = [0] * 25
    for start in range(0, len(padded), _RATE):
        block = padded[start : start + _RATE]
        for i in range(_RATE // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        lanes = _keccak_f(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes[:4])


def checksum_address(raw: bytes) -> str:
    """EIP-55 rendering of a 20-byte address, as common.Address.Hex() prints it."""
    lower = raw.hex()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower, digest[:40], strict=True)
    )


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(data: bytes) -> str:
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = _BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


@dataclass(frozen=True)
class EthKey:
    address: str
    evm_chain_id: str
    created_at: datetime


@dataclass(frozen=True)
class P2PKey:
    peer_id: str
    public_key: str


@dataclass(frozen=True)
class OCR2Key:
    id: str
    chain_type: str
    onchain_public_key: str
    offchain_public_key: str
    config_public_key: str


@dataclass(frozen=True)
class OCRKey:
    """An OCR (v1) bundle as presenters/ocr_keys.go prints it (OCRKeysBundleResource)."""

    id: str
    on_chain_signing_address: str
    off_chain_public_key: str
    config_public_key: str


def new_ocr_key(take: Callable[[int], bytes]) -> OCRKey:
    """ocrkey.NewV2, printed: the ID is a hash of the key, the parts carry their type prefixes."""
    return OCRKey(
        hashlib.sha256(take(32)).hexdigest(),
        "ocrsad_0x" + take(20).hex(),
        "ocroff_" + take(32).hex(),
        "ocrcfg_" + take(32).hex(),
    )


# core/services/keystore/chaintype/chaintype.go: the chain types an OCR2 bundle may be made for.
OCR2_CHAIN_TYPES = frozenset({"evm", "cosmos", "solana", "starknet", "aptos", "tron"})


def new_ocr2_key(take: Callable[[int], bytes], chain_type: str) -> OCR2Key:
    """ocr2key.New: the bundle ID is a hash over its public keys; presenters print them prefixed."""
    onchain, offchain, config = take(20).hex(), take(32).hex(), take(32).hex()
    bundle_id = hashlib.sha256(bytes.fromhex(onchain + offchain + config)).hexdigest()
    return OCR2Key(
        bundle_id,
        chain_type,
        f"ocr2on_{chain_type}_{onchain}",
        f"ocr2off_{chain_type}_{offchain}",
        f"ocr2cfg_{chain_type}_{config}",
    )


def seed_keys(
    seed: str, evm_chain_id: str, now: datetime
) -> tuple[list[EthKey], list[P2PKey], list[OCR2Key], list[str]]:
    """Two ETH keys, one P2P key, one EVM OCR2 bundle and one CSA public key (a node makes its CSA key at
    its first start: keystore/csa.go EnsureKey), the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - identifiers, not secrets

    def take(size: int) -> bytes:
        return rng.randbytes(size)

    eth = [EthKey(checksum_address(take(20)), evm_chain_id, now) for _ in range(2)]
    public = take(32)
    # libp2p peer ID of an ed25519 key: identity multihash of the protobuf-encoded public key.
    peer_id = "p2p_" + _base58(b"\x00\x24\x08\x01\x12\x20" + public)
    p2p = [P2PKey(peer_id, public.hex())]
    return eth, p2p, [new_ocr2_key(take, "evm")], [take(32).hex()]
