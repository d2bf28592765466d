"""Verifying credentials from anyone: our own DID document and status lists are read locally;
other issuers' are fetched over HTTPS, with the guards untrusted URLs need (no private or loopback
addresses, no redirects, size and time limits)."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from lms_plugin.credentials import dids, issuance, signing
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential

MAX_REMOTE_BYTES = 1024 * 1024
REMOTE_TIMEOUT = (3.05, 5)


class FetchRefused(ValueError):
    """A URL we will not fetch, or a fetch that failed; the message is safe to show."""


class CredentialVerifier:
    """`verify(document)` for the web pages, the API and the CLI."""

    def __init__(
        self,
        session: Session,
        settings: IssuerSettings,
        http: requests.Session,
        allow_private_hosts: bool = False,
    ) -> None:
        self.session = session
        self.settings = settings
        self.http = http
        self.allow_private_hosts = allow_private_hosts
        self.own_prefix = settings.base_url + "/"

    def verify(self, document: Mapping[str, Any] | str | bytes) -> signing.VerificationResult:
        """Raises `signing.NotACredential` when the input is not a JSON object at all."""
        return signing.verify_credential(
            document, resolve_key=self.resolve_key, fetch_status_list=self.fetch_status_list
        )

    def resolve_key(self, did: str) -> Mapping[str, Any] | None:
        own = issuance.did_document(self.session, self.settings)
        if did == own["id"]:
            return own
        if did.startswith("did:web:"):
            return self.fetch_json(dids.did_web_document_url(did))
        return None

    def fetch_status_list(self, url: str) -> Mapping[str, Any] | None:
        if url.startswith(self.settings.status_list_url("")):
            list_id = url.removeprefix(self.settings.status_list_url(""))
            return issuance.signed_status_list(self.session, self.settings, list_id)
        return self.fetch_json(url)

    def fetch_credential(self, url: str) -> str:
        """The text of a credential given by URL (ours read locally)."""
        if url.startswith(self.settings.credential_url("")):
            credential_id = url.removeprefix(self.settings.credential_url("")).removesuffix(".json")
            found = self.session.get(Credential, credential_id)
            if found is None:
                raise FetchRefused("there is no credential at this address")
            return found.document
        return self.fetch_text(url, accept="application/ld+json, application/json")

    def fetch_json(self, url: str) -> Any:
        try:
            return json.loads(self.fetch_text(url, accept="application/json"))
        except ValueError:
            raise FetchRefused(f"{url} did not answer JSON") from None

    def fetch_text(self, url: str, accept: str) -> str:
        self._check_url(url)
        try:
            response = self.http.get(
                url,
                headers={"Accept": accept},
                timeout=REMOTE_TIMEOUT,
                allow_redirects=False,
                stream=True,
            )
            body = response.raw.read(MAX_REMOTE_BYTES + 1, decode_content=True)
        except requests.RequestException as error:
            raise FetchRefused(f"{url} could not be fetched ({type(error).__name__})") from None
        if response.status_code != 200:
            raise FetchRefused(f"{url} answered {response.status_code}")
        if len(body) > MAX_REMOTE_BYTES:
            raise FetchRefused(f"{url} answered more than {MAX_REMOTE_BYTES} bytes")
        return body.decode("utf-8", errors="replace")

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_private_hosts and parts.scheme == "http"):
            raise FetchRefused(f"only https URLs are fetched, not {url[:200]!r}")
        if not parts.hostname:
            raise FetchRefused(f"{url[:200]!r} has no host")
        if self.allow_private_hosts:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, None)}
        except OSError:
            raise FetchRefused(f"{parts.hostname} does not resolve") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global:
                raise FetchRefused(f"{parts.hostname} is not a public address")
