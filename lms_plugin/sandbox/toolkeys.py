"""The tool's public keys, fetched over HTTP from its JWKS URL, and checking JWTs it signed.

The key set is cached per process for a few minutes and fetched again when a JWT names a key id
the cache does not have (at most every few seconds, so a stream of bad tokens cannot make the
sandbox hammer the tool).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

CACHE_SECONDS = 300.0
REFETCH_AFTER_SECONDS = 5.0
TIMEOUT = (3.05, 5.0)
MAX_JWKS_BYTES = 256 * 1024
MAX_JWT_LENGTH = 64 * 1024
LEEWAY_SECONDS = 60
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")


class ToolKeyError(Exception):
    """The tool's key set could not be fetched or read, or a JWT does not check out."""


@dataclass
class _Entry:
    fetched_at: float
    keys: list[dict[str, Any]] = field(default_factory=list)


_lock = threading.Lock()
_cache: dict[str, _Entry] = {}


def download_jwks(url: str) -> dict[str, Any]:
    """GET the JWK Set at `url` (bounded in time and size)."""
    try:
        with requests.get(
            url, timeout=TIMEOUT, stream=True, headers={"Accept": "application/json"}
        ) as response:
            if response.status_code != 200:
                raise ToolKeyError(f"the tool's JWKS at {url} answered {response.status_code}")
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise ToolKeyError(
            f"could not fetch the tool's JWKS at {url}: {type(error).__name__}"
        ) from None
    if len(body) > MAX_JWKS_BYTES:
        raise ToolKeyError(f"the tool's JWKS at {url} is too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise ToolKeyError(f"the tool's JWKS at {url} is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ToolKeyError(f"the tool's JWKS at {url} has no 'keys' list")
    return document


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _keys(url: str, *, refresh: bool) -> list[dict[str, Any]]:
    now = time.monotonic()
    with _lock:
        entry = _cache.get(url)
    fresh = entry is not None and now - entry.fetched_at < CACHE_SECONDS
    may_refetch = entry is None or now - entry.fetched_at >= REFETCH_AFTER_SECONDS
    if entry is not None and fresh and not (refresh and may_refetch):
        return entry.keys
    document = download_jwks(url)
    keys = [key for key in document["keys"] if isinstance(key, dict)]
    with _lock:
        _cache[url] = _Entry(time.monotonic(), keys)
    return keys


def _find(keys: Iterable[dict[str, Any]], kid: str, alg: str) -> dict[str, Any] | None:
    for key in keys:
        matches = key.get("kid") == kid and key.get("kty") == "RSA"
        if matches and key.get("alg", alg) == alg and key.get("use", "sig") == "sig":
            return key
    return None


def public_key_for(url: str, kid: str, alg: str) -> Any:
    """The tool's key `kid` from its JWKS (refetched once if the cached set lacks it)."""
    key = _find(_keys(url, refresh=False), kid, alg)
    if key is None:
        key = _find(_keys(url, refresh=True), kid, alg)
    if key is None:
        raise ToolKeyError(f"the tool's JWKS has no {alg} signing key with kid {kid!r}")
    try:
        return jwt.PyJWK(key, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
        raise ToolKeyError(f"the tool's key {kid!r} is not a usable RSA key") from None


def decode_tool_jwt(
    token: str,
    jwks_url: str,
    *,
    audience: str,
    issuer: str,
    require: Iterable[str] = ("exp", "iat", "iss", "aud"),
) -> dict[str, Any]:
    """Check a JWT the tool signed: its signature (key from the tool's JWKS), iss, aud, exp, iat.

    Raises ToolKeyError with a reason a person can read.
    """
    if not token or len(token) > MAX_JWT_LENGTH:
        raise ToolKeyError("the JWT is missing or too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ToolKeyError("the JWT cannot be decoded") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALLOWED_ALGORITHMS:
        raise ToolKeyError(f"the JWT is signed with {alg!r}; RS256 is expected")
    if not isinstance(kid, str) or not kid:
        raise ToolKeyError("the JWT header has no 'kid'")
    key = public_key_for(jwks_url, kid, alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": list(require)},
        )
    except jwt.InvalidSignatureError:
        raise ToolKeyError("the JWT signature does not verify with the tool's key") from None
    except jwt.ExpiredSignatureError:
        raise ToolKeyError("the JWT has expired") from None
    except jwt.InvalidAudienceError:
        raise ToolKeyError(f"the JWT audience is not {audience}") from None
    except jwt.InvalidIssuerError:
        raise ToolKeyError(f"the JWT issuer is not {issuer}") from None
    except jwt.MissingRequiredClaimError as error:
        raise ToolKeyError(f"the JWT has no '{error.claim}' claim") from None
    except jwt.PyJWTError as error:
        raise ToolKeyError(f"the JWT is invalid: {error}") from None
    if contains_nul(claims):
        raise ToolKeyError("the JWT contains NUL characters")
    return claims


def contains_nul(value: Any) -> bool:
    """True if a JSON value holds a NUL character anywhere (in a key or a string)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
