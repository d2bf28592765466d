"""The tool's signing keys: RSA (RS256) for LTI, Ed25519 for credentials.

Private keys are stored encrypted (`SecretBox`); the newest unretired key of a purpose signs, and
every unretired key is published, so a rotated-out key keeps verifying until it is retired. Each
issuer profile has credentials keys of its own (`issuer_profile_id`); None means the tool's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwcrypto.jwk import JWK
from sqlalchemy import ColumnElement, ForeignKey, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms_plugin.orm import Base, created_at, intpk, utcnow
from lms_plugin.secret_box import SecretBox

ALGORITHMS = {"lti": "RS256", "credentials": "Ed25519"}


class ToolKey(Base):
    """A signing key of the tool: RSA for LTI, Ed25519 for credentials; private part encrypted.
    A credentials key with an `issuer_profile_id` belongs to that profile, else to the tool."""

    __tablename__ = "tool_keys"

    id: Mapped[intpk]
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    algorithm: Mapped[str] = mapped_column(String(20))
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    retired_at: Mapped[dt.datetime | None]
    # No ON DELETE clause: SQLite can add this column (and reflect it) only without one.
    issuer_profile_id: Mapped[int | None] = mapped_column(ForeignKey("issuer_profiles.id"))


class ToolKeyError(LookupError):
    """No such key, or no usable key for a purpose."""


@dataclass(frozen=True)
class SigningKey:
    """A decrypted private key, ready to sign."""

    kid: str
    algorithm: str
    private_pem: str
    public_pem: str


def generate_key(
    session: Session, box: SecretBox, purpose: str, issuer_profile_id: int | None = None
) -> ToolKey:
    """Create a new key for `purpose` (of an issuer profile, or the tool's); it becomes the one
    that signs. Flushes."""
    if purpose not in ALGORITHMS:
        raise ValueError(f"unknown key purpose {purpose!r}; use one of {sorted(ALGORITHMS)}")
    if issuer_profile_id is not None and purpose != "credentials":
        raise ValueError("only credentials keys belong to an issuer profile")
    private = new_private_key(purpose)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    key = ToolKey(
        kid=JWK.from_pem(public_pem.encode("ascii")).thumbprint(),
        purpose=purpose,
        algorithm=ALGORITHMS[purpose],
        public_key_pem=public_pem,
        private_key_encrypted=box.encrypt(private_pem),
        issuer_profile_id=issuer_profile_id,
    )
    session.add(key)
    session.flush()
    return key


def new_private_key(purpose: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """A fresh private key for `purpose` (RSA 2048 for LTI, Ed25519 for credentials)."""
    if purpose == "lti":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def ensure_key(
    session: Session, box: SecretBox, purpose: str, issuer_profile_id: int | None = None
) -> ToolKey:
    """The current key of `purpose` (of an issuer profile, or the tool's), created if none."""
    return current_key(session, purpose, issuer_profile_id) or generate_key(
        session, box, purpose, issuer_profile_id
    )


def current_key(
    session: Session, purpose: str, issuer_profile_id: int | None = None
) -> ToolKey | None:
    """The newest unretired key of `purpose` (of an issuer profile, or the tool's)."""
    query = (
        select(ToolKey)
        .where(
            ToolKey.purpose == purpose,
            ToolKey.retired_at.is_(None),
            _owner(issuer_profile_id),
        )
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def published_keys(session: Session, purpose: str) -> Sequence[ToolKey]:
    """Every unretired key of the tool for `purpose`, newest first."""
    query = (
        select(ToolKey)
        .where(ToolKey.purpose == purpose, ToolKey.retired_at.is_(None), _owner(None))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    )
    return session.scalars(query).all()


def profile_keys(session: Session, issuer_profile_id: int) -> Sequence[ToolKey]:
    """Every credentials key of an issuer profile, current and retired, oldest first."""
    query = (
        select(ToolKey)
        .where(ToolKey.issuer_profile_id == issuer_profile_id)
        .order_by(ToolKey.created_at, ToolKey.id)
    )
    return session.scalars(query).all()


def current_key_ids(session: Session) -> set[int]:
    """The ids of the keys that sign now: one per purpose and owner (the tool, each profile)."""
    newest: dict[tuple[str, int | None], int] = {}
    for key in session.scalars(
        select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.created_at, ToolKey.id)
    ):
        newest[(key.purpose, key.issuer_profile_id)] = key.id
    return set(newest.values())


def _owner(issuer_profile_id: int | None) -> ColumnElement[bool]:
    if issuer_profile_id is None:
        return ToolKey.issuer_profile_id.is_(None)
    return ToolKey.issuer_profile_id == issuer_profile_id


def all_keys(session: Session) -> Sequence[ToolKey]:
    return session.scalars(select(ToolKey).order_by(ToolKey.purpose, ToolKey.id)).all()


def retire_key(session: Session, kid: str) -> ToolKey:
    """Stop publishing (LTI) or signing with (credentials) a key. The current key of a purpose
    can only be retired once a newer key exists. Flushes."""
    key = session.scalar(select(ToolKey).where(ToolKey.kid == kid))
    if key is None:
        raise ToolKeyError(f"no key with kid {kid!r}")
    if key.retired_at is not None:
        return key
    current = current_key(session, key.purpose, key.issuer_profile_id)
    if current is not None and current.id == key.id:
        raise ToolKeyError(f"{kid} is the current {key.purpose} key: rotate first, then retire it")
    key.retired_at = utcnow()
    session.flush()
    return key


def signing_key(session: Session, box: SecretBox, purpose: str) -> SigningKey:
    """The decrypted current key of `purpose`."""
    key = current_key(session, purpose)
    if key is None:
        raise ToolKeyError(f"there is no {purpose} key: run `lms-plugin init`")
    return _decrypted(key.kid, key.algorithm, key.public_key_pem, key.private_key_encrypted, box)


@lru_cache(maxsize=32)
def _decrypted(
    kid: str, algorithm: str, public_pem: str, encrypted: bytes, box: SecretBox
) -> SigningKey:
    return SigningKey(kid, algorithm, box.decrypt(encrypted).decode("ascii"), public_pem)


def public_jwk(key: ToolKey) -> dict[str, Any]:
    """The public JWK of a key, with `kid`, `alg` and `use`."""
    jwk: dict[str, Any] = json.loads(
        JWK.from_pem(key.public_key_pem.encode("ascii")).export_public()
    )
    jwk.update(kid=key.kid, alg=key.algorithm if key.algorithm == "RS256" else "EdDSA", use="sig")
    return jwk


def jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The tool's LTI JSON Web Key Set."""
    return {"keys": [public_jwk(key) for key in published_keys(session, "lti")]}
