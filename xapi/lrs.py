"""A small LRS client with `requests`: POST a batch of stored statements (their exact bytes),
with timeouts, HTTP basic auth and the `X-Experience-API-Version` header.

tincan's `RemoteLRS` is not used: it has no timeouts, it fails with `JSONDecodeError` on the
empty 204 an LRS answers to a batch of duplicates, and it cannot parse some LRS answers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

XAPI_VERSION = "1.0.3"
DEFAULT_TIMEOUT = 10.0
MAX_ERROR_TEXT = 500


class LrsConfigError(ValueError):
    """An LRS endpoint that cannot be used (not an absolute http(s) URL, or with credentials)."""


@dataclass(frozen=True)
class LrsSettings:
    """Where and how to send: the xAPI endpoint (statements go to `<endpoint>/statements`), the
    basic-auth user and password (never shown in `repr`), and the version header."""

    endpoint: str
    username: str
    password: str = field(repr=False)
    version: str = XAPI_VERSION

    def __post_init__(self) -> None:
        check_endpoint(self.endpoint)

    @property
    def statements_url(self) -> str:
        return self.endpoint.rstrip("/") + "/statements"


def check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LrsConfigError(f"the LRS endpoint must be an absolute http(s) URL: {endpoint!r}")
    if parts.username or parts.password:
        raise LrsConfigError("put the LRS user and password in their own settings, not the URL")


@dataclass(frozen=True)
class LrsAnswer:
    """An LRS's HTTP answer: status, a short excerpt of the body, and Retry-After seconds."""

    status: int
    text: str
    retry_after: float | None = None


class LrsUnreachable(Exception):
    """No HTTP answer: connection refused or reset, DNS failure, or a timeout."""


class LrsClient:
    """Posts statements to one LRS; one keep-alive connection pool per client."""

    def __init__(
        self,
        settings: LrsSettings,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.auth = (settings.username, settings.password)
        self.session.headers.update(
            {"X-Experience-API-Version": settings.version, "Content-Type": "application/json"}
        )

    def post_statements(self, payloads: Sequence[str]) -> LrsAnswer:
        """POST `payloads` (JSON texts of statements) as one JSON array, byte for byte."""
        body = ("[" + ",".join(payloads) + "]").encode("utf-8")
        return self._request("POST", self.settings.statements_url, data=body)

    def close(self) -> None:
        self.session.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> LrsAnswer:
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as error:
            raise LrsUnreachable(f"no answer from {url} within {self.timeout:g} s") from error
        except requests.RequestException as error:
            # The exception text names the URL and the cause, never the credentials.
            raise LrsUnreachable(f"{type(error).__name__} for {url}: {_cause(error)}") from error
        return LrsAnswer(
            status=response.status_code,
            text=response.text[:MAX_ERROR_TEXT],
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )


def _cause(error: requests.RequestException) -> str:
    reason: BaseException = error
    while reason.__context__ is not None and not str(reason):
        reason = reason.__context__
    return str(reason)[:MAX_ERROR_TEXT]


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header (delay seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())
