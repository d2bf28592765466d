"""The sandbox's RSA signing key: created once in the database, shared by every worker.

The private key is stored encrypted with the app's `SecretBox` (KEY_ENCRYPTION_KEY, by default
SECRET_KEY); it leaves this module only as a `cryptography` key object, and is never logged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.sandbox.models import SandboxKey
from lms_plugin.secret_box import SecretBox, SecretBoxError

ALGORITHM = "RS256"

_cache_lock = threading.Lock()
_private_keys: dict[str, rsa.RSAPrivateKey] = {}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:  # never show key material
        return f"SigningKey(kid={self.kid!r})"


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A new 2048-bit RSA key (tests replace this to stay fast)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an RSA JWK, base64url without padding."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def public_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    jwk.update({"kid": jwk_thumbprint(jwk), "alg": ALGORITHM, "use": "sig"})
    return jwk


def create_key(session: Session, box: SecretBox) -> SigningKey:
    """Generate, encrypt and store a new signing key (flushes)."""
    private_key = generate_rsa_key()
    jwk = public_jwk(private_key)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    session.add(
        SandboxKey(
            kid=jwk["kid"],
            public_jwk=jwk,
            private_key_encrypted=box.encrypt(pem),
        )
    )
    session.flush()
    return SigningKey(jwk["kid"], private_key)


def _decrypt(row: SandboxKey, box: SecretBox) -> rsa.RSAPrivateKey | None:
    with _cache_lock:
        cached = _private_keys.get(row.kid)
    if cached is not None:
        return cached
    try:
        pem = box.decrypt(row.private_key_encrypted)
    except SecretBoxError:
        return None
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    with _cache_lock:
        _private_keys[row.kid] = key
    return key


def current_key(session: Session, box: SecretBox) -> SigningKey:
    """The newest key the box can decrypt; a new one is made when there is none (for instance
    after KEY_ENCRYPTION_KEY changed: the sandbox has no data worth keeping under a lost key)."""
    rows = session.scalars(select(SandboxKey).order_by(SandboxKey.id.desc()).limit(5)).all()
    for row in rows:
        private_key = _decrypt(row, box)
        if private_key is not None:
            return SigningKey(row.kid, private_key)
    return create_key(session, box)


def jwks(session: Session) -> dict[str, Any]:
    """Every public key of the sandbox, newest first, as a JWK Set."""
    rows = session.scalars(select(SandboxKey).order_by(SandboxKey.id.desc())).all()
    return {"keys": [dict(row.public_jwk) for row in rows]}
