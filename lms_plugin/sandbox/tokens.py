"""OAuth 2.0 for the LTI services: client-credentials tokens from a signed client assertion
(1EdTech Security Framework 1.0, RFC 7523), bearer-token checks, and single-use values."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms_plugin.lti import claims as vocab
from lms_plugin.sandbox.constants import CLIENT_ID, SERVICE_SCOPES, SandboxUrls
from lms_plugin.sandbox.models import SandboxAccessToken, SandboxUsedNonce
from lms_plugin.sandbox.toolkeys import LEEWAY_SECONDS, ToolKeyError, decode_tool_jwt

TOKEN_SECONDS = 3600
MAX_ASSERTION_SECONDS = 3600
MAX_NONCE_LENGTH = 255


@dataclass
class TokenError(Exception):
    """An OAuth 2.0 error answer (RFC 6749 section 5.2)."""

    error: str
    description: str
    status: int = 400


@dataclass
class ServiceError(Exception):
    """An error answer of an LTI service endpoint."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def consume_once(session: Session, key: str, expires_at: dt.datetime) -> bool:
    """Record `key` as used; False when it was used before (flushes)."""
    now = dt.datetime.now(dt.UTC)
    session.execute(delete(SandboxUsedNonce).where(SandboxUsedNonce.expires_at < now))
    if session.get(SandboxUsedNonce, key) is not None:
        return False
    session.add(SandboxUsedNonce(key=key, expires_at=expires_at))
    try:
        session.flush()
    except IntegrityError:  # another request used it at the same moment
        return False
    return True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def grant_token(
    session: Session, urls: SandboxUrls, form: Mapping[str, str], *, now: float | None = None
) -> dict[str, Any]:
    """Answer a token request: check the tool's signed client assertion, grant service scopes."""
    current = now if now is not None else time.time()
    if form.get("grant_type") != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != vocab.CLIENT_ASSERTION_TYPE:
        raise TokenError(
            "invalid_request", f"client_assertion_type must be {vocab.CLIENT_ASSERTION_TYPE}"
        )
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise TokenError("invalid_request", "client_assertion is missing")
    requested = form.get("scope", "").split()
    if not requested:
        raise TokenError("invalid_scope", "scope is missing")
    granted = [scope for scope in dict.fromkeys(requested) if scope in SERVICE_SCOPES]
    if not granted:
        raise TokenError("invalid_scope", "none of the requested scopes is offered")

    try:
        claims = decode_tool_jwt(
            assertion,
            urls.tool_jwks,
            audience=urls.token,
            issuer=CLIENT_ID,
            require=("exp", "iat", "iss", "aud", "sub", "jti"),
        )
    except ToolKeyError as error:
        raise TokenError("invalid_client", f"client_assertion refused: {error}", 401) from None
    if claims.get("sub") != CLIENT_ID:
        raise TokenError("invalid_client", f"client_assertion sub must be {CLIENT_ID}", 401)
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, int | float) or exp - current > MAX_ASSERTION_SECONDS + LEEWAY_SECONDS:
        raise TokenError("invalid_client", "client_assertion lives too long (max 1 hour)", 401)
    if not isinstance(jti, str) or not jti or len(jti) > MAX_NONCE_LENGTH:
        raise TokenError("invalid_client", "client_assertion jti is invalid", 401)
    if not consume_once(session, f"jti:{jti}", _utc(exp + LEEWAY_SECONDS)):
        raise TokenError("invalid_client", "client_assertion jti was already used", 401)

    session.execute(delete(SandboxAccessToken).where(SandboxAccessToken.expires_at < _utc(current)))
    token = secrets.token_urlsafe(32)
    session.add(
        SandboxAccessToken(
            token_hash=_hash(token),
            client_id=CLIENT_ID,
            scopes=granted,
            expires_at=_utc(current + TOKEN_SECONDS),
        )
    )
    session.flush()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "scope": " ".join(granted),
    }


def require_scope(
    session: Session,
    authorization: str | None,
    any_of: Collection[str],
    *,
    now: float | None = None,
) -> SandboxAccessToken:
    """The access token in an `Authorization: Bearer` header, if it grants one of `any_of`.

    401 without a valid, unexpired token; 403 when the token lacks the scope.
    """
    challenge = 'Bearer realm="sandbox"'
    parts = (authorization or "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise ServiceError(
            401, "a Bearer access token is required", {"WWW-Authenticate": challenge}
        )
    row = session.scalar(
        select(SandboxAccessToken).where(SandboxAccessToken.token_hash == _hash(parts[1]))
    )
    current = _utc(now if now is not None else time.time())
    if row is None or row.expires_at <= current:
        raise ServiceError(
            401,
            "the access token is invalid or has expired",
            {"WWW-Authenticate": f'{challenge}, error="invalid_token"'},
        )
    if not set(row.scopes) & set(any_of):
        raise ServiceError(
            403,
            "the access token does not grant this service; needs one of: " + " ".join(any_of),
            {"WWW-Authenticate": f'{challenge}, error="insufficient_scope"'},
        )
    return row
