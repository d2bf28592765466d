"""Data Integrity proofs (`DataIntegrityProof`, cryptosuite `eddsa-rdfc-2022`): signing.

`sign_credential` adds a proof to a credential (no network, no Flask); the hashing it shares with
`verifying.verify_credential` is public here (`hash_data`, `hash_document`).

eddsa-rdfc-2022: the signed bytes are SHA-256(canonical proof options) + SHA-256(canonical
document without its proof), canonical meaning RDFC-1.0 N-Quads; the proof options are the proof
without `proofValue`, under the document's `@context`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lms_plugin.credentials import canonical, dids, isolation
from lms_plugin.credentials.builder import xsd_datetime

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ASSERTION_METHOD = "assertionMethod"


class SigningError(ValueError):
    """The credential cannot be signed as it is (the message says why)."""


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def canonical_hash(document: Mapping[str, Any], seconds: float | None) -> bytes:
    """SHA-256 of the canonical form: our own documents (no `seconds`) here, untrusted ones in a
    worker process killed when `seconds` are up."""
    if seconds is None:
        text = canonical.canonicalize(document)
    else:
        text = isolation.canonicalize(document, seconds)
    try:
        return hashlib.sha256(text.encode("utf-8")).digest()
    except UnicodeEncodeError:
        raise canonical.CanonicalizationError("it has text that is not valid Unicode") from None


def hash_document(document: Mapping[str, Any], seconds: float | None) -> bytes:
    return canonical_hash(unsecured(document), seconds)


def hash_data(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    seconds: float | None,
    document_hash: bytes | None = None,
) -> bytes:
    started = time.monotonic()
    config = {"@context": document.get("@context"), **proof_options}
    config.pop("proofValue", None)
    config_hash = canonical_hash(config, seconds)
    if document_hash is None:
        if seconds is not None:
            seconds = max(0.001, seconds - (time.monotonic() - started))
        document_hash = hash_document(document, seconds)
    return config_hash + document_hash


def sign_credential(
    credential: dict[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """A copy of `credential` with a `DataIntegrityProof` (eddsa-rdfc-2022) appended to `proof`.

    Refuses (`SigningError`) text with control characters and anything the pinned contexts do not
    define, rather than sign what other verifiers would read differently.
    """
    if not isinstance(credential, dict) or "@context" not in credential:
        raise SigningError("a credential is a JSON object with an @context")
    bad = canonical.find_control_characters(unsecured(credential))
    if bad:
        raise SigningError("text with control characters cannot be signed: " + ", ".join(bad))
    existing = credential.get("proof", [])
    existing = list(existing) if isinstance(existing, list) else [existing]
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created or dt.datetime.now(dt.UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": ASSERTION_METHOD,
    }
    try:
        data = hash_data(credential, proof, seconds=None)
    except canonical.CanonicalizationError as error:
        raise SigningError(f"cannot canonicalize the credential: {error}") from None
    proof["proofValue"] = "z" + dids.b58encode(private_key.sign(data))
    return {**credential, "proof": [*existing, proof]}
