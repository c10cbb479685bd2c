"""Exported OCR and OCR2 key bundles: what `chainlink keys ocr|ocr2 export` writes and what
POST /v2/keys/ocr|ocr2/import takes.

Sources (smartcontractkit/chainlink):
- core/services/keystore/keys/ocrkey/export.go @ 0086ddbc and ocr2key/export.go @ 95202ca3:
  EncryptedOCRKeyExport. OCR: keyType "OCR" (absent in older exports), id, onChainSigningAddress
  ("ocrsad_0x..."), offChainPublicKey ("ocroff_..."), configPublicKey ("ocrcfg_..."), crypto. OCR2:
  keyType "OCR2", chainType, id, onchainPublicKey, offchainPublicKey, configPublicKey (plain hex), crypto.
- the password is "adulterated" before the KDF: "ocrkey" + password (ocrkey/export.go), "ocr2key" +
  password (ocr2key).
- core/services/keystore/keys/internal/exports.go FromEncryptedJSON: "failed to decrypt %s key: %w";
  core/services/keystore/ocr.go and ocr2.go Import wrap that in "OCRKeyStore#ImportKey failed to decrypt key".
- crypto is go-ethereum's keystore.CryptoJSON: scrypt KDF, aes-128-ctr, and a MAC of
  keccak256(derivedKey[16:32] ++ ciphertext); DecryptDataV3 answers ErrDecrypt ("could not decrypt key
  with given password") when the MAC does not match.

The double checks the MAC, which is what decides between import and refusal, and takes the bundle's public
parts from the export's clear fields; it never needs the private key, so `export` encrypts random bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from devkit.nodedouble.keys import OCR2Key, OCRKey, keccak256
from devkit.nodedouble.spec import NodeError

ADULTERATION = {"OCR": "ocrkey", "OCR2": "ocr2key"}
DECRYPT_FAILED = "could not decrypt key with given password"  # go-ethereum keystore.ErrDecrypt


def _derived_key(crypto: dict[str, Any], password: str) -> bytes:
    params = crypto["kdfparams"]
    return hashlib.scrypt(
        password.encode(),
        salt=bytes.fromhex(params["salt"]),
        n=int(params["n"]),
        r=int(params["r"]),
        p=int(params["p"]),
        dklen=int(params["dklen"]),
        maxmem=256 * 1024 * 1024,
    )


def _mac(derived: bytes, ciphertext: bytes) -> str:
    return keccak256(derived[16:32] + ciphertext).hex()


def export(key: OCRKey | OCR2Key, password: str, scrypt_n: int = 2) -> bytes:
    """The export JSON of a bundle (light scrypt parameters by default: tests need no real KDF cost)."""
    key_type = "OCR" if isinstance(key, OCRKey) else "OCR2"
    salt, iv, ciphertext = os.urandom(32), os.urandom(16), os.urandom(64)
    kdfparams = {"dklen": 32, "n": scrypt_n, "p": 1, "r": 8, "salt": salt.hex()}
    derived = _derived_key({"kdfparams": kdfparams}, ADULTERATION[key_type] + password)
    crypto = {
        "cipher": "aes-128-ctr",
        "ciphertext": ciphertext.hex(),
        "cipherparams": {"iv": iv.hex()},
        "kdf": "scrypt",
        "kdfparams": kdfparams,
        "mac": _mac(derived, ciphertext),
    }
    if isinstance(key, OCRKey):
        fields: dict[str, Any] = {
            "keyType": key_type,
            "id": key.id,
            "onChainSigningAddress": key.on_chain_signing_address,
            "offChainPublicKey": key.off_chain_public_key,
            "configPublicKey": key.config_public_key,
        }
    else:
        fields = {
            "keyType": key_type,
            "chainType": key.chain_type,
            "id": key.id,
            # The presenters prefix these ("ocr2on_evm_..."); the export has the bare hex.
            "onchainPublicKey": key.onchain_public_key.rsplit("_", 1)[1],
            "offchainPublicKey": key.offchain_public_key.rsplit("_", 1)[1],
            "configPublicKey": key.config_public_key.rsplit("_", 1)[1],
        }
    return json.dumps({**fields, "crypto": crypto}).encode()


def decrypt(key_type: str, body: bytes, password: str) -> OCRKey | OCR2Key:
    """FromEncryptedJSON as far as the double needs it: the bundle, or the node's error (500)."""
    wrap = f"OCRKeyStore#ImportKey failed to decrypt key: failed to decrypt {key_type} key"
    try:
        exported = json.loads(body)
        crypto = exported["crypto"]
        derived = _derived_key(crypto, ADULTERATION[key_type] + password)
        ciphertext = bytes.fromhex(crypto["ciphertext"])
    except (ValueError, KeyError, TypeError) as exc:
        # json.Unmarshal's errors are not wrapped; the wording of these is not verified, the 500 is.
        raise NodeError(500, f"{wrap}: {exc}") from exc
    if not hmac.compare_digest(_mac(derived, ciphertext), str(crypto.get("mac", ""))):
        raise NodeError(500, f"{wrap}: {DECRYPT_FAILED}")
    if key_type == "OCR":
        return OCRKey(
            exported["id"],
            exported["onChainSigningAddress"],
            exported["offChainPublicKey"],
            exported["configPublicKey"],
        )
    chain = exported["chainType"]
    return OCR2Key(
        exported["id"],
        chain,
        f"ocr2on_{chain}_{exported['onchainPublicKey']}",
        f"ocr2off_{chain}_{exported['offchainPublicKey']}",
        f"ocr2cfg_{chain}_{exported['configPublicKey']}",
    )
