"""Verifying credentials from anyone, within one deadline and a cap on remote fetches.

The tool's own DID documents, status lists and credentials are read locally. Other issuers' are
fetched through `lms_plugin.credentials.outbound` (public addresses only unless
`ALLOW_PRIVATE_ADDRESSES`, no redirects, a size cap), before the verification's deadline, at most
`Limits.max_fetches` per verification, and kept for a few minutes in a bounded in-process cache,
so that one credential cannot make the tool send many requests and an issuer is not asked again
for every verification.

The answer's facts say whether the issuer is the tool itself (its did:web, a profile's, or the
did:key of one of its keys when it has no public HTTPS host) or listed in an issuer registry the
operator trusts (`trust_list`, held in memory); for the tool's own credentials the revocation
status, reason and date come from its records.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from cachetools import TTLCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy.orm import Session

from lms_plugin import keys
from lms_plugin.credentials import dids, facts, issuance, outbound, verifying
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.trust_list import TrustList
from lms_plugin.credentials.untrusted import (
    DEFAULT_LIMITS,
    Deadline,
    InputError,
    Limits,
    parse_credential_input,
    parse_json,
)

# Remote documents (DID documents, status lists) are kept this long, up to this many bytes in all.
REMOTE_TTL_SECONDS = 300
REMOTE_CACHE_BYTES = 16 * 1024 * 1024
_PROFILE_SLUG = re.compile(r"[a-z0-9-]{1,100}")  # as `lti.issuer_profiles.slugify` makes them
# Credential and status list ids are UUIDs: an id of any other shape (a NUL byte that PostgreSQL
# refuses, say) is never looked up.
_CREDENTIAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class FetchRefused(ValueError):
    """A URL we will not fetch, or a fetch that failed; the message is safe to show."""


class _RemoteCache:
    """Bodies of remote documents by URL (bytes, parsed afresh by each user: nothing shared is
    mutable), expiring after `REMOTE_TTL_SECONDS`, at most `REMOTE_CACHE_BYTES` in all."""

    def __init__(self) -> None:
        self.bodies: TTLCache[tuple[str, bool], bytes] = TTLCache(
            maxsize=REMOTE_CACHE_BYTES, ttl=REMOTE_TTL_SECONDS, getsizeof=len
        )
        self.lock = threading.Lock()  # cachetools caches are not thread-safe

    def get(self, key: tuple[str, bool]) -> bytes | None:
        with self.lock:
            return self.bodies.get(key)

    def put(self, key: tuple[str, bool], body: bytes) -> None:
        if len(body) <= REMOTE_CACHE_BYTES // 16:
            with self.lock:
                self.bodies[key] = body


REMOTE_DOCUMENTS = _RemoteCache()


class CredentialVerifier:
    """`verify(document)` and `verify_url(url)` for the web pages, the API and the CLI."""

    def __init__(
        self,
        session: Session,
        settings: IssuerSettings,
        *,
        allow_private_addresses: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        trust_list: TrustList | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.limits = limits
        self.trust_list = trust_list
        self.policy = outbound.Policy(
            allow_private=allow_private_addresses,
            seconds=limits.max_seconds,
            max_bytes=limits.max_bytes,
        )

    def verify(self, document: Mapping[str, Any] | str | bytes) -> verifying.VerificationResult:
        """Raises `verifying.NotACredential` when the input is not a JSON object at all."""
        return _Verification(self).verify(document)

    def verify_url(self, url: str) -> verifying.VerificationResult:
        """Fetch the credential at `url` (ours read locally) and verify it, under one deadline.

        Raises `FetchRefused` when it cannot be fetched, `verifying.NotACredential` as `verify`."""
        run = _Verification(self)
        return run.verify(run.fetch_credential(url))

    def read_url(self, url: str) -> Any:
        """The parsed credential at `url` (JSON or a baked SVG; ours read locally).

        Raises `FetchRefused` when it cannot be fetched, `verifying.NotACredential` when it is
        not JSON or a badge image holding it."""
        text = _Verification(self).fetch_credential(url)
        try:
            return parse_credential_input(text, self.limits)
        except InputError as error:
            raise verifying.NotACredential(str(error)) from None


class _Verification:
    """One verification: its deadline and its count of remote fetches."""

    def __init__(self, verifier: CredentialVerifier) -> None:
        self.verifier = verifier
        self.session = verifier.session
        self.settings = verifier.settings
        self.limits = verifier.limits
        self.deadline = Deadline(verifier.limits.max_seconds)
        self.fetches = 0

    def verify(self, document: Mapping[str, Any] | str | bytes) -> verifying.VerificationResult:
        result = verifying.verify_credential(
            document,
            resolve_key=self.resolve_key,
            fetch_status_list=self.fetch_status_list,
            limits=self.limits,
            deadline=self.deadline,
        )
        credential = result.credential
        if credential is None:
            return result
        issuer = _issuer_of_document(credential)
        if self.is_own_issuer(issuer):
            result.facts = facts.describe(
                credential, trust="self", status=self.own_status(credential, result.revoked)
            )
        elif self.verifier.trust_list and (listing := self.verifier.trust_list.lookup(issuer)):
            result.facts = facts.describe(
                credential,
                trust="registry",
                listing=listing,
                status=facts.Status(revoked=result.revoked),
            )
        return result

    def is_own_issuer(self, did: Any) -> bool:
        """The tool's did:web, an existing profile's, or the did:key of one of its keys."""
        if not isinstance(did, str):
            return False
        if issuance.is_own_did(self.settings, did):
            if did == self.settings.tool_did or not _possible_own_did(self.settings, did):
                return did == self.settings.tool_did
            slug = did.removeprefix(self.settings.profile_did_prefix)
            return self.settings.profiles.by_slug(self.session, slug) is not None
        return did.startswith("did:key:") and did in _own_did_keys(self.session)

    def own_status(self, credential: Mapping[str, Any], revoked: bool | None) -> facts.Status:
        """Our records' revocation of the credential with this id and issuer (else the status
        list's verdict, without reason or date)."""
        found = self.own_credential(credential.get("id"))
        if found is None or _issuer_of(found) != _issuer_of_document(credential):
            return facts.Status(revoked=revoked)
        return facts.Status(
            revoked=found.revoked_at is not None,
            reason=found.revocation_reason,
            revoked_at=found.revoked_at,
        )

    def own_credential(self, url: Any) -> Credential | None:
        prefix = self.settings.credential_url("")
        if not isinstance(url, str) or not url.startswith(prefix):
            return None
        credential_id = url.removeprefix(prefix)
        if not _CREDENTIAL_ID.fullmatch(credential_id):
            return None
        return self.session.get(Credential, credential_id)

    def resolve_key(self, did: str) -> Mapping[str, Any] | None:
        if issuance.is_own_did(self.settings, did):  # the tool's or a profile's: never fetched
            if not _possible_own_did(self.settings, did):
                return None
            return issuance.own_did_document(self.session, self.settings, did)
        if did.startswith("did:web:"):
            return self.fetch_json(dids.did_web_document_url(did))
        return None

    def fetch_status_list(self, url: str) -> Mapping[str, Any] | None:
        if url.startswith(self.settings.status_list_url("")):
            list_id = url.removeprefix(self.settings.status_list_url(""))
            if not _CREDENTIAL_ID.fullmatch(list_id):  # ids are UUIDs: nothing else is looked up
                return None
            return issuance.signed_status_list(self.session, self.settings, list_id)
        return self.fetch_json(url)

    def fetch_credential(self, url: str) -> str | bytes:
        """The text of a credential given by URL (ours read locally)."""
        if url.startswith(self.settings.credential_url("")):
            credential_id = url.removeprefix(self.settings.credential_url(""))
            credential_id = credential_id.removesuffix(".json").removesuffix(".svg")
            found = (
                self.session.get(Credential, credential_id)
                if _CREDENTIAL_ID.fullmatch(credential_id)
                else None
            )
            if found is None:
                raise FetchRefused("there is no credential at this address")
            return found.document
        return self.fetch(url, accept="application/ld+json, application/json, image/svg+xml")

    def fetch_json(self, url: str) -> Any:
        key = (url, self.verifier.policy.allow_private)
        cached = REMOTE_DOCUMENTS.get(key)
        body = self.fetch(url, accept="application/json") if cached is None else cached
        try:
            document = parse_json(body, self.limits, self.deadline)
        except InputError as error:
            raise FetchRefused(f"{url[:200]} did not answer usable JSON ({error})") from None
        if cached is None:  # kept from its fetch on: an issuer's changes show within the TTL
            REMOTE_DOCUMENTS.put(key, body)
        return document

    def fetch(self, url: str, accept: str) -> bytes:
        if self.fetches >= self.limits.max_fetches:
            raise FetchRefused(
                f"verifying it needs more than {self.limits.max_fetches} documents from other "
                "servers, so the rest were not fetched"
            )
        if self.deadline.passed():
            raise FetchRefused(f"no time was left to fetch {url[:200]}")
        self.fetches += 1
        try:
            return outbound.get(url, self.verifier.policy, accept=accept, deadline=self.deadline.at)
        except outbound.OutboundRefused as error:
            raise FetchRefused(str(error)) from None


def _own_did_keys(session: Session) -> set[str]:
    """The did:key of every credentials key the tool holds (profiles' included)."""
    found = set()
    for record in keys.all_keys(session):
        if record.purpose == issuance.PURPOSE:
            public = load_pem_public_key(record.public_key_pem.encode("ascii"))
            assert isinstance(public, Ed25519PublicKey)
            found.add(dids.did_key(public))
    return found


def _issuer_of(found: Credential) -> Any:
    return _issuer_of_document(json.loads(found.document))


def _issuer_of_document(credential: Mapping[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def _possible_own_did(settings: IssuerSettings, did: str) -> bool:
    """The tool's DID, or a profile's whose slug could exist (looking up any other text, e.g.
    one with a NUL, would make PostgreSQL fail the request's transaction)."""
    if did == settings.tool_did:
        return True
    return bool(_PROFILE_SLUG.fullmatch(did.removeprefix(settings.profile_did_prefix)))
