"""Calls from the tool to a platform's LTI Advantage services (NRPS, AGS) with OAuth 2 access
tokens from client assertions.

pylti1p3's ServiceConnector gets the token; everything else is done here because its paging
lower-cases the `Link` header's next URL (breaking case-sensitive URLs), it caches tokens only per
object, and it sets no timeouts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from pylti1p3.exception import LtiServiceException
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector

from lms_plugin.lti.state_store import StateStore

MAX_PAGES = 100
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


class PlatformServiceError(RuntimeError):
    """A platform service call failed; the message is safe to show to staff."""


class PlatformClient:
    """One platform registration's services, with access tokens cached in the database."""

    def __init__(self, registration: Registration, store: StateStore, http: requests.Session):
        self.registration = registration
        self.store = store
        self.http = http

    def access_token(self, scopes: Sequence[str]) -> str:
        scope = " ".join(sorted(scopes))
        key = (
            "token:"
            + hashlib.sha256(
                f"{self.registration.get_issuer()}|{self.registration.get_client_id()}|{scope}".encode()
            ).hexdigest()
        )
        cached = self.store.get(key)
        if isinstance(cached, str):
            return cached
        connector = ServiceConnector(self.registration, self.http)
        try:
            token: str = connector.get_access_token(sorted(scopes))
        except (LtiServiceException, requests.RequestException, ValueError, KeyError) as error:
            raise PlatformServiceError(
                f"the platform refused an access token ({_why(error)})"
            ) from None
        self.store.put(key, token, lifetime=50 * 60)
        return token

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
        next_url: str | None = url
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
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
        headers = kwargs.pop("headers", {})
        headers["Authorization"] = "Bearer " + self.access_token(scopes)
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except requests.RequestException as error:
            raise PlatformServiceError(f"{method} {url} failed ({_why(error)})") from None
        if not response.ok:
            raise PlatformServiceError(f"{method} {url} answered {response.status_code}")
        return response


def _why(error: Exception) -> str:
    if isinstance(error, LtiServiceException):
        return str(error).splitlines()[0][:200]
    return type(error).__name__
