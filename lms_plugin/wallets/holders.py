"""A wallet's key, named by a DID URL that resolves offline (`did:key` Ed25519, `did:jwk` OKP
Ed25519), and the OpenID4VCI JWT proof of possession signed with it (`openid4vci-proof+jwt`,
EdDSA). No Flask, no database."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lms_plugin.credentials import dids
from lms_plugin.strict_json import CONTROL_CHARACTERS

PROOF_TYPE = "openid4vci-proof+jwt"
MAX_JWT_CHARS = 4096
MAX_DID_CHARS = 1000
# A proof's `iat` may be this far from our clock (wallet clocks drift a little).
IAT_LEEWAY = dt.timedelta(minutes=5)


class ProofError(ValueError):
    """The proof (or the key it names) is refused; the message says why, in plain words."""


@dataclass(frozen=True)
class HolderKey:
    """A wallet's public key and the DID it belongs to (the credential's subject)."""

    did: str
    method: str
    public_key: Ed25519PublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.isascii() or "=" in text:
        raise ProofError("it is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ProofError("it is not base64url") from None


def holder_key(method: Any) -> HolderKey:
    """The key of a verification method `did:key:z6Mk...#z6Mk...` or `did:jwk:<jwk>#0`."""
    if not isinstance(method, str) or len(method) > MAX_DID_CHARS + 100:
        raise ProofError("the key must be named by a did:key or did:jwk URL")
    if CONTROL_CHARACTERS.search(method) or not method.isascii() or " " in method:
        raise ProofError("the key's DID URL has characters a DID cannot have")
    did, _, fragment = method.partition("#")
    if did.startswith("did:key:"):
        multibase = did.removeprefix("did:key:")
        if fragment != multibase:
            raise ProofError("a did:key is named as did:key:<key>#<key>")
        try:
            return HolderKey(did, method, dids.public_key_from_multibase(multibase))
        except dids.KeyFormatError as error:
            raise ProofError(f"the did:key is not an Ed25519 key: {error}") from None
    if did.startswith("did:jwk:"):
        if fragment != "0":
            raise ProofError("a did:jwk key is named as did:jwk:<jwk>#0")
        return HolderKey(did, method, _jwk_key(did.removeprefix("did:jwk:")))
    raise ProofError("the key must be named by a did:key or did:jwk URL (other DIDs are not read)")


def _jwk_key(encoded: str) -> Ed25519PublicKey:
    try:
        jwk = json.loads(b64url_decode(encoded))
    except (ValueError, UnicodeDecodeError):
        raise ProofError("the did:jwk does not hold a JSON key") from None
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ProofError("the did:jwk key is not an Ed25519 key (OKP)")
    if "d" in jwk:
        raise ProofError("the did:jwk holds a private key")
    raw = b64url_decode(jwk.get("x", ""))
    if len(raw) != 32:
        raise ProofError("the did:jwk key is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class ProofClaims:
    """A proof JWT whose signature checked out: its key and the nonce it signed."""

    holder: HolderKey
    nonce: str


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (ValueError, UnicodeDecodeError):
        raise ProofError(f"the proof's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise ProofError(f"the proof's {what} is not a JSON object")
    return value


def verify_proof_jwt(token: Any, audience: str, now: dt.datetime) -> ProofClaims:
    """Check a JWT proof of possession: type, EdDSA, a `kid` naming the wallet's DID key, the
    signature, `aud` (this issuer) and a fresh `iat`. The nonce is the caller's to check."""
    if not isinstance(token, str) or len(token) > MAX_JWT_CHARS or token.count(".") != 2:
        raise ProofError("the proof is not a compact JWT")
    header_part, payload_part, signature_part = token.split(".")
    header = _json_part(header_part, "header")
    payload = _json_part(payload_part, "payload")
    if header.get("typ") != PROOF_TYPE:
        raise ProofError(f'the proof\'s "typ" must be "{PROOF_TYPE}"')
    if header.get("alg") != "EdDSA":
        raise ProofError('the proof must be signed with "EdDSA" (Ed25519)')
    if "jwk" in header or "x5c" in header or "trust_chain" in header:
        raise ProofError('the proof must name its key by "kid" (a did:key or did:jwk URL) only')
    holder = holder_key(header.get("kid"))
    signature = b64url_decode(signature_part)
    if not holder.verify(signature, f"{header_part}.{payload_part}".encode("ascii")):
        raise ProofError("the proof's signature does not match its key")
    audiences = payload.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if audience not in audiences:
        raise ProofError(f'the proof\'s "aud" must be this issuer ({audience})')
    issued = payload.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise ProofError('the proof has no "iat"')
    try:
        issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ProofError('the proof\'s "iat" is not a time') from None
    if abs(now - issued_at) > IAT_LEEWAY:
        raise ProofError('the proof\'s "iat" is not recent: sign a new proof')
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ProofError('the proof has no "nonce"')
    return ProofClaims(holder, nonce)
