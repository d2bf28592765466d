"""Calls from the tool to a platform's LTI Advantage services (NRPS, AGS) with OAuth 2 access
tokens from client assertions (RFC 7523).

Done here rather than with pylti1p3's ServiceConnector: its paging lower-cases the `Link` header's
next URL (breaking case-sensitive URLs), it caches tokens per object whatever `expires_in` says,
and it sets no timeouts.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import jwt
import requests
from pylti1p3.registration import Registration

from lms_plugin.lti.state_store import StateStore

MAX_PAGES = 10_000  # a listing longer than this is refused, never cut short
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)
TOKEN_MARGIN_SECONDS = 60  # a token is reused only while it has at least this long to live
DEFAULT_EXPIRES_IN = 3600  # RFC 6749 makes `expires_in` optional; LTI platforms give an hour


class PlatformServiceError(RuntimeError):
    """A platform service call failed; the message is safe to show to staff. `status` is the
    platform's HTTP status, when it answered one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PlatformClient:
    """One platform registration's services, with access tokens cached in the database for as
    long as the platform says they live (less a margin), and dropped when refused."""

    def __init__(self, registration: Registration, store: StateStore, http: requests.Session):
        self.registration = registration
        self.store = store
        self.http = http

    def access_token(self, scopes: Sequence[str]) -> str:
        key = self._token_key(scopes)
        cached = self.store.get(key)
        if isinstance(cached, str):
            return cached
        token, expires_in = self._request_token(sorted(scopes))
        lifetime = expires_in - TOKEN_MARGIN_SECONDS
        if lifetime > 0:
            self.store.put(key, token, lifetime=lifetime)
        return token

    def forget_token(self, scopes: Sequence[str]) -> None:
        """Drop a cached token (the platform refused it)."""
        self.store.take(self._token_key(scopes))
        if self.store.commit:
            self.store.session.commit()

    def get_json(self, url: str, scopes: Sequence[str], accept: str) -> tuple[Any, str | None]:
        """GET one page; returns the body and the next page's URL (from `Link`), if any."""
        response = self._send("GET", url, scopes, headers={"Accept": accept})
        match = NEXT_LINK.search(response.headers.get("Link", ""))
        try:
            body = response.json() if response.content else None
        except ValueError:
            raise PlatformServiceError(f"{url} answered something that is not JSON") from None
        return body, match.group(1) if match else None

    def pages(self, url: str, scopes: Sequence[str], accept: str) -> Iterator[Any]:
        """Every page of a listing, following `Link: rel="next"` to the end; a listing that
        pages in a circle or past MAX_PAGES is an error, not silently cut short."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen:
                raise PlatformServiceError(f"{url}: the next page points back at an earlier one")
            if len(seen) == MAX_PAGES:
                raise PlatformServiceError(f"{url}: more than {MAX_PAGES:,} pages")
            seen.add(next_url)
            body, next_url = self.get_json(next_url, scopes, accept)
            yield body

    def send_json(
        self, method: str, url: str, scopes: Sequence[str], body: Any, content_type: str
    ) -> Any:
        response = self._send(
            method, url, scopes, json=body, headers={"Content-Type": content_type}
        )
        try:
            return response.json() if response.content else None
        except ValueError:
            return None

    def _send(self, method: str, url: str, scopes: Sequence[str], **kwargs: Any) -> Any:
        """One call; on 401 the token is dropped and the call made once more with a new one."""
        headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers["Authorization"] = "Bearer " + self.access_token(scopes)
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except requests.RequestException as error:
                raise PlatformServiceError(f"{method} {url} failed ({_why(error)})") from None
            if response.status_code == 401:
                self.forget_token(scopes)
                if attempt == 1:
                    continue
            if not response.ok:
                raise PlatformServiceError(
                    f"{method} {url} answered {response.status_code}", response.status_code
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_token(self, scopes: list[str]) -> tuple[str, int]:
        """A new token and its lifetime in seconds, for a client assertion signed with the
        tool's key."""
        reg = self.registration
        token_url = reg.get_auth_token_url()
        private_key = reg.get_tool_private_key()
        if not token_url or not private_key:
            raise PlatformServiceError("the platform has no token URL or the tool no key")
        now = int(time.time())
        client_id = str(reg.get_client_id())
        assertion = jwt.encode(
            {
                "iss": client_id,
                "sub": client_id,
                "aud": reg.get_auth_audience() or token_url,
                "iat": now - 5,
                "exp": now + 60,
                "jti": "lti-service-token-" + str(uuid.uuid4()),
            },
            private_key,
            algorithm="RS256",
            headers={"kid": reg.get_kid()} if reg.get_kid() else None,
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": " ".join(scopes),
        }
        try:
            response = self.http.request("POST", token_url, data=form)
        except requests.RequestException as error:
            raise PlatformServiceError(
                f"the platform refused an access token ({_why(error)})"
            ) from None
        if not response.ok:
            raise PlatformServiceError(
                f"the platform refused an access token (HTTP {response.status_code})",
                response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise PlatformServiceError("the platform's token answer has no access_token")
        return body["access_token"], _lifetime(body.get("expires_in", DEFAULT_EXPIRES_IN))

    def _token_key(self, scopes: Sequence[str]) -> str:
        reg = self.registration
        scope = " ".join(sorted(scopes))
        digest = hashlib.sha256(f"{reg.get_issuer()}|{reg.get_client_id()}|{scope}".encode())
        return "token:" + digest.hexdigest()


def _lifetime(expires_in: Any) -> int:
    """`expires_in` in whole seconds; anything but a number means "do not reuse"."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return 0
    return int(expires_in)


def _why(error: Exception) -> str:
    return type(error).__name__
