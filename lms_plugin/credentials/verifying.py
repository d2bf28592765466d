"""Verifying Data Integrity proofs (`eddsa-rdfc-2022`): `verify_credential` checks a credential
from any issuer that uses these formats and answers what `POST /api/v1/verify` answers:
`{"verified": bool, "checks": [...], "errors": [...], "credential": {...}}` (what the credential
says, read by `facts.describe`, shown whether or not it verifies). No network, no Flask: the
caller passes `resolve_key` (DID -> DID document, for did:web issuers; did:key resolves offline) and
`fetch_status_list` (URL -> status list credential). A verification runs against one deadline
(`Limits.max_seconds`, shared with the caller's fetches), canonicalizes the untrusted documents
in worker processes killed at that deadline (`isolation`), and looks at no more than
`Limits.max_proofs` proofs and `Limits.max_status_entries` status entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lms_plugin.credentials import canonical, clr, dids, facts, signing, status_list
from lms_plugin.credentials.documents import VC_V2
from lms_plugin.credentials.signing import ASSERTION_METHOD, CRYPTOSUITE, PROOF_TYPE
from lms_plugin.credentials.untrusted import (
    DEFAULT_LIMITS,
    Deadline,
    InputError,
    Limits,
    check_shape,
    parse_credential_input,
)

VC_V1 = "https://www.w3.org/2018/credentials/v1"
ResolveKey = Callable[[str], Mapping[str, Any] | None]
FetchStatusList = Callable[[str], Mapping[str, Any] | None]


class NotACredential(InputError):  # noqa: N818 - reads as the verdict it is
    """The input is not a JSON object (or SVG badge holding one) at all (the CLI exits 2)."""


# The signature check's message when the content does not match: the page headline says
# "Altered after signing" for it.
ALTERED = (
    "The signature does not match the content: the credential was changed after signing, or the "
    "proof belongs to another credential."
)


@dataclass
class VerificationResult:
    """The verdict and its checks in plain words; `credential` is the parsed input (if any),
    `revoked` what its status list said (None: not checked), `facts` what it says;
    `is_credential` False for a JSON object with nothing of a credential (no VC context or type;
    the CLI exits 2 on it, the API answers it as not verified)."""

    verified: bool
    checks: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    revoked: bool | None = None
    facts: dict[str, Any] | None = None
    is_credential: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": self.checks,
            "errors": self.errors,
            "credential": self.facts,
        }


def headline(answer: Mapping[str, Any]) -> dict[str, Any]:
    """What a page's headline says of a verification answer (`to_json()`): `kind` (the first
    of "unreadable", "altered", "revoked", "expired", "not-yet-valid", "unsigned", "issuer-key",
    "status-unknown", "not-verified", "issuer-unknown", "verified" that applies) and the
    `date` and `reason` it names. Pages only: the API's fields stay as they are."""
    outcomes = {check.get("check"): check for check in answer.get("checks") or []}
    shown = answer.get("credential") or {}
    status = shown.get("status") or {}

    def failed(check: str) -> bool:
        return outcomes.get(check, {}).get("passed") is False

    if not outcomes or failed("well-formed"):
        return {"kind": "unreadable"}
    if outcomes.get("signature", {}).get("message") == ALTERED:
        return {"kind": "altered"}
    if status.get("revoked"):
        return {"kind": "revoked", "date": status.get("revoked_at"), "reason": status.get("reason")}
    if failed("not expired"):
        expires = _parse_time(shown.get("expires"))
        if expires is not None and expires < dt.datetime.now(dt.UTC):
            return {"kind": "expired", "date": shown["expires"]}
        return {"kind": "not-yet-valid", "date": shown.get("issued")}
    for check, kind in (
        ("signature", "unsigned"),
        ("issuer key", "issuer-key"),
        ("not revoked", "status-unknown"),
    ):
        if failed(check):
            return {"kind": kind}
    if not answer.get("verified"):
        return {"kind": "not-verified"}
    if (shown.get("issuer") or {}).get("trust") not in ("self", "registry"):
        return {"kind": "issuer-unknown"}
    return {"kind": "verified"}


def refused(message: str) -> dict[str, Any]:
    """The answer for input that was not verified at all (not JSON, or no time to check it)."""
    return VerificationResult(False, errors=[message]).to_json()


class _Checks:
    """Collects check outcomes; `None` = not checked."""

    ORDER = ("well-formed", "signature", "issuer key", "not revoked", "not expired")

    def __init__(self) -> None:
        self.outcomes: dict[str, tuple[bool | None, str]] = {}
        self.errors: list[str] = []
        # One check per credential embedded in a CLR, after the others.
        self.embedded: list[dict[str, Any]] = []

    def embedded_check(self, check: str, passed: bool, message: str) -> None:
        self.embedded.append({"check": check, "passed": passed, "message": message})
        if not passed:
            self.errors.append(message)

    def passed(self, check: str, message: str) -> None:
        self.outcomes.setdefault(check, (True, message))

    def failed(self, check: str, message: str) -> None:
        if self.outcomes.get(check, (None,))[0] is not False:
            self.outcomes[check] = (False, message)
        self.errors.append(message)

    def result(self, credential: dict[str, Any] | None) -> VerificationResult:
        checks = []
        for check in self.ORDER:
            passed, message = self.outcomes.get(check, (None, "Not checked."))
            checks.append({"check": check, "passed": passed, "message": message})
        verified = all(self.outcomes.get(check, (None,))[0] is True for check in self.ORDER)
        verified = verified and all(check["passed"] for check in self.embedded)
        return VerificationResult(verified, checks + self.embedded, self.errors, credential)


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and ":" in issuer else None


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _well_formed(credential: Any, limits: Limits) -> str | None:
    """Why `credential` is not a VC 2.0 credential, or None."""
    if not isinstance(credential, dict):
        return "The input is not a JSON object."
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2:
        return f'Its "@context" must be a list starting with "{VC_V2}".'
    if len(contexts) > limits.max_contexts:
        return f'Its "@context" lists more than {limits.max_contexts} contexts.'
    if "VerifiableCredential" not in _types(credential.get("type")):
        return 'Its "type" must include "VerifiableCredential".'
    subjects = credential.get("credentialSubject")
    if not subjects or not all(isinstance(subject, dict) for subject in _types(subjects)):
        return 'It has no "credentialSubject" object.'
    if _issuer_id(credential) is None:
        return 'It has no "issuer" with an id (a URL or DID).'
    for prop in ("validFrom", "validUntil"):
        if prop in credential and _parse_time(credential[prop]) is None:
            return f'Its "{prop}" is not a date and time.'
    for entry in _types(credential.get("credentialStatus", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            return 'Each "credentialStatus" needs a "type".'
    return None


_STATUS_LIST_CACHE: LRUCache = LRUCache(maxsize=64)
_STATUS_LIST_LOCK = threading.Lock()


@dataclass
class _Verifier:
    resolve_key: ResolveKey
    fetch_status_list: FetchStatusList
    now: dt.datetime
    limits: Limits
    deadline: Deadline
    # The issuer's revocation bit, as its status list said (None until one was read).
    revoked: bool | None = None
    # Canonical hashes of the documents being verified (the credential, its status lists).
    document_hashes: dict[int, bytes] = field(default_factory=dict)

    def document_hash(self, document: Mapping[str, Any]) -> bytes:
        cached = self.document_hashes.get(id(document))
        if cached is None:
            cached = self.document_hashes[id(document)] = signing.hash_document(
                document, self.remaining()
            )
        return cached

    def remaining(self) -> float:
        left = self.deadline.remaining()
        if left <= 0:
            raise canonical.LimitExceeded(_too_long(self.deadline))
        return left

    def did_document(self, did: str) -> Mapping[str, Any]:
        if did.startswith("did:key:"):
            return dids.did_key_document(did)
        document = self.resolve_key(did)
        if not isinstance(document, Mapping):
            raise dids.KeyFormatError(f"the DID document of {did} could not be found")
        if document.get("id") != did:
            raise dids.KeyFormatError(f"the DID document found for {did} is another DID's")
        return document

    def check_proofs(self, credential: dict[str, Any], checks: _Checks) -> None:
        """Signature and issuer key: at least one eddsa-rdfc-2022 proof must pass both."""
        proofs = [p for p in _types(credential.get("proof", [])) if isinstance(p, dict)]
        if len(proofs) > self.limits.max_proofs:
            checks.failed(
                "signature", f"It has more than {self.limits.max_proofs} proofs: none was checked."
            )
            checks.failed("issuer key", "No signing key was checked.")
            return
        ours = [
            p for p in proofs if p.get("type") == PROOF_TYPE and p.get("cryptosuite") == CRYPTOSUITE
        ]
        if not ours:
            checks.failed(
                "signature",
                "It carries no Data Integrity proof (eddsa-rdfc-2022) this verifier can check.",
            )
            checks.failed("issuer key", "No signing key to check.")
            return
        issuer = _issuer_id(credential)
        failures: list[tuple[str, str]] = []
        for proof in ours:
            outcome = self.check_proof(credential, proof, issuer)
            if outcome is None:
                method = proof["verificationMethod"]
                checks.passed(
                    "signature",
                    "The signature matches the content: nothing changed since it was signed.",
                )
                checks.passed(
                    "issuer key",
                    f"It was signed with {method}, a key the issuer ({issuer}) publishes "
                    "for issuing credentials.",
                )
                return
            failures.append(outcome)
        for check, message in failures[:1]:
            checks.failed(check, message)
            if check == "signature":
                checks.outcomes.setdefault("issuer key", (None, "Not checked."))
            else:
                checks.outcomes.setdefault("signature", (None, "Not checked."))

    def check_proof(
        self, credential: dict[str, Any], proof: dict[str, Any], issuer: str | None
    ) -> tuple[str, str] | None:
        """None when the proof is good, else (check, why not)."""
        method = proof.get("verificationMethod")
        if proof.get("proofPurpose") != ASSERTION_METHOD:
            return ("signature", 'The proof\'s purpose is not "assertionMethod".')
        if not isinstance(method, str) or ":" not in method:
            return ("signature", "The proof names no verification method.")
        value = proof.get("proofValue")
        if not isinstance(value, str) or not value.startswith("z") or len(value) > 120:
            return ("signature", "The proof has no base58btc proofValue.")
        if "created" in proof and _parse_time(proof["created"]) is None:
            return ("signature", 'The proof\'s "created" is not a date and time.')
        try:
            signature = dids.b58decode(value[1:])
        except dids.KeyFormatError:
            return ("signature", "The proofValue is not base58btc.")
        did = method.partition("#")[0]
        try:
            public_key, controller = dids.find_assertion_key(self.did_document(did), method)
        except dids.KeyFormatError as error:
            return ("issuer key", f"The signing key cannot be trusted: {error}.")
        except canonical.LimitExceeded:
            raise
        except ValueError as error:  # a refused fetch or a broken document: safe to show
            return ("issuer key", f"The issuer's DID document could not be read: {error}.")
        except Exception:  # anything else says nothing an employer can use, and may say too much
            return ("issuer key", "The issuer's DID document could not be read.")
        if controller != did or controller != issuer:
            return (
                "issuer key",
                f"The signing key belongs to {controller}, not to the issuer ({issuer}).",
            )
        data = signing.hash_data(
            credential, proof, self.remaining(), document_hash=self.document_hash(credential)
        )
        if not _verify_signature(public_key, signature, data):
            return ("signature", ALTERED)
        return None

    def check_dates(
        self, credential: Mapping[str, Any], checks: _Checks, label: str = "It"
    ) -> None:
        valid_from = _parse_time(credential.get("validFrom"))
        valid_until = _parse_time(credential.get("validUntil"))
        if valid_from is not None and self.now < valid_from:
            checks.failed("not expired", f"{label} is not valid before {credential['validFrom']}.")
        elif valid_until is not None and self.now > valid_until:
            checks.failed("not expired", f"{label} expired on {credential['validUntil']}.")
        elif valid_until is not None:
            checks.passed("not expired", f"{label} is valid until {credential['validUntil']}.")
        else:
            checks.passed("not expired", f"{label} has no expiry date.")

    def check_status(self, credential: dict[str, Any], checks: _Checks) -> None:
        entries = _types(credential.get("credentialStatus", []))
        if not entries:
            checks.passed("not revoked", "It carries no revocation status; none to check.")
            return
        if len(entries) > self.limits.max_status_entries:
            checks.failed(
                "not revoked",
                f"It has more than {self.limits.max_status_entries} status entries: "
                "none was checked.",
            )
            return
        for entry in entries:
            if entry.get("type") != "BitstringStatusListEntry":
                checks.failed(
                    "not revoked",
                    f"Its status of type {entry.get('type')!r} cannot be checked "
                    "(only BitstringStatusListEntry can).",
                )
                continue
            message = self.check_entry(credential, entry)
            if message is not None:
                checks.failed("not revoked", message)
        checks.passed("not revoked", "The issuer has not revoked it (status list checked).")

    def check_entry(self, credential: dict[str, Any], entry: dict[str, Any]) -> str | None:
        url = entry.get("statusListCredential")
        purpose = entry.get("statusPurpose")
        index = _status_index(entry.get("statusListIndex"))
        if index is None:
            return "Its status entry has no statusListIndex (a whole number, at least 0)."
        if not isinstance(url, str) or not isinstance(purpose, str):
            return "Its status entry names no status list or purpose."
        try:
            listed = self.fetch_status_list(url)
        except Exception as error:  # the resolver's network or parsing failure
            return f"The status list {url} could not be read: {error}."
        if not isinstance(listed, dict):
            return f"The status list {url} could not be found."
        subject = listed.get("credentialSubject")
        if not isinstance(subject, dict) or subject.get("statusPurpose") != purpose:
            return f"The status list {url} is not for the purpose {purpose!r}."
        problem = self.status_list_problem(listed, _issuer_id(credential))
        if problem:
            return problem
        try:
            revoked = status_list.get_bit(
                status_list.decode_list(subject.get("encodedList")), index
            )
        except status_list.StatusListError as error:
            return f"The status list {url} is unusable: {error}."
        if purpose == "revocation":
            self.revoked = bool(revoked) or bool(self.revoked)
        if revoked:
            done = {"revocation": "revoked", "suspension": "suspended"}.get(purpose)
            return f"The issuer has {done} it." if done else f"Its {purpose!r} status is set."
        return None

    def status_list_problem(self, listed: dict[str, Any], issuer: str | None) -> str | None:
        """Why the status list credential cannot be trusted, or None."""
        url = listed.get("id")
        if "BitstringStatusListCredential" not in _types(listed.get("type")):
            return f"{url} is not a BitstringStatusListCredential."
        subject = listed["credentialSubject"]
        if subject.get("type") != "BitstringStatusList":
            return f"{url} is not a BitstringStatusList."
        if _issuer_id(listed) != issuer:
            return f"The status list {url} is not the issuer's own."
        key = hashlib.sha256(
            json.dumps(listed, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        with _STATUS_LIST_LOCK:
            problem = _STATUS_LIST_CACHE.get(key)
        if problem is None:
            inner = _Checks()
            why = _well_formed(listed, self.limits)
            if why:
                inner.failed("well-formed", why)
            else:
                self.check_proofs(listed, inner)
            failures = [
                message
                for check, (passed, message) in inner.outcomes.items()
                if passed is False and check != "not expired"
            ]
            problem = ""
            if failures:
                problem = f"The status list {url} is not authentic: {failures[0]}"
            with _STATUS_LIST_LOCK:
                _STATUS_LIST_CACHE[key] = problem
        if problem:
            return problem
        dates = _Checks()
        self.check_dates(listed, dates, label=f"The status list {url}")
        if dates.errors:
            return dates.errors[0]
        return None


def _status_index(value: Any) -> int | None:
    """The entry's index (the spec writes it as a string of digits; a JSON integer is read too)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    return None


def _too_long(deadline: Deadline) -> str:
    return f"it took longer than the {deadline.seconds:g} seconds allowed"


def _verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_credential(
    document: Mapping[str, Any] | str | bytes,
    *,
    resolve_key: ResolveKey,
    fetch_status_list: FetchStatusList,
    now: dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    deadline: Deadline | None = None,
) -> VerificationResult:
    """Verify a credential (a parsed object, or JSON text from anyone) within `limits`, by
    `deadline` (default: `limits.max_seconds` from now; the caller's fetches share it). An answer
    reached after the deadline is "not verified", whatever the checks said.

    Checks: well-formed (a VC 2.0 whose every term the pinned contexts define), signature,
    issuer key (the verification method is in the issuer's DID document under assertionMethod),
    not revoked (Bitstring Status List, itself signature-checked), not expired; and for a CLR
    (`ClrCredential`), each embedded credential the same way.
    Raises `NotACredential` only when the input is not a JSON object at all.
    """
    deadline = deadline or Deadline(limits.max_seconds)
    checks = _Checks()
    parsed_here = isinstance(document, str | bytes)  # then `parse_json` has checked its shape
    if isinstance(document, str | bytes):
        try:
            document = parse_credential_input(document, limits, deadline)
        except canonical.LimitExceeded as error:
            checks.failed("well-formed", f"Verification stopped: {error}.")
            return checks.result(None)
        except InputError as error:
            raise NotACredential(str(error)) from None
    if not isinstance(document, Mapping):
        raise NotACredential("the input is not a JSON object")
    credential = dict(document)
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    verifier = _Verifier(resolve_key, fetch_status_list, now, limits, deadline)
    _run_checks(verifier, credential, checks, shape_checked=parsed_here)
    if checks.outcomes.get("well-formed", (None,))[0] is True and clr.is_clr(credential):
        _check_embedded(verifier, credential, checks)
    result = checks.result(credential)
    if verifier.revoked:
        result.revoked = True
    elif checks.outcomes.get("not revoked", (None,))[0] is True:
        result.revoked = False
    # Shown whether or not it verified: the employer sees what they were handed, and why not.
    result.facts = facts.describe(credential, status=facts.Status(revoked=result.revoked))
    result.is_credential = _looks_like_a_credential(credential)
    return result


def _check_embedded(verifier: _Verifier, bundle: dict[str, Any], checks: _Checks) -> None:
    """A CLR's embedded credentials, each verified as a credential on its own (all the checks,
    under the same deadline), one check each; at most `Limits.max_embedded`. A CLR embedded in
    a CLR has its own proof checked, not its contents."""
    embedded = clr.embedded_credentials(bundle)
    if len(embedded) > verifier.limits.max_embedded:
        checks.embedded_check(
            "embedded credentials",
            False,
            f"It embeds more than {verifier.limits.max_embedded} credentials: none was checked.",
        )
        return
    for position, document in enumerate(embedded, start=1):
        inner = _Checks()
        nested = _Verifier(
            verifier.resolve_key,
            verifier.fetch_status_list,
            verifier.now,
            verifier.limits,
            verifier.deadline,
        )
        _run_checks(nested, document, inner, shape_checked=True)
        outcome = inner.result(document if isinstance(document, dict) else None)
        label = f"Embedded credential {position}"
        if isinstance(document, dict) and isinstance(document.get("name"), str):
            label += f" ({document['name'][:200]})"
        if outcome.verified:
            checks.embedded_check(
                f"embedded credential {position}",
                True,
                f"{label} verified: signature, issuer key, status and dates.",
            )
        else:
            checks.embedded_check(
                f"embedded credential {position}",
                False,
                f"{label}: {next(iter(outcome.errors), 'it could not be verified.')}",
            )


def _looks_like_a_credential(document: Mapping[str, Any]) -> bool:
    """Whether it has anything of a W3C credential: a VC context, or the type."""
    contexts = document.get("@context")
    named = contexts if isinstance(contexts, list) else [contexts]
    return any(c in (VC_V2, VC_V1) for c in named) or "VerifiableCredential" in _types(
        document.get("type")
    )


def _run_checks(
    verifier: _Verifier, credential: dict[str, Any], checks: _Checks, *, shape_checked: bool
) -> None:
    try:
        if not shape_checked:
            check_shape(credential, verifier.limits, verifier.deadline)
        why = _well_formed(credential, verifier.limits)
        if why is None:
            # Canonicalizing now finds undefined terms and relative IRIs before anything else.
            verifier.document_hash(credential)
            checks.passed(
                "well-formed",
                "It is a W3C Verifiable Credential whose every property the published "
                "vocabularies define.",
            )
        else:
            checks.failed("well-formed", why)
            return
        verifier.check_proofs(credential, checks)
        verifier.check_status(credential, checks)
        verifier.check_dates(credential, checks)
    except canonical.LimitExceeded as error:
        checks.failed("well-formed", f"Verification stopped: {error}.")
        return
    except canonical.CanonicalizationError as error:
        checks.failed("well-formed", f"It is not valid JSON-LD for these vocabularies: {error}.")
    except InputError as error:
        checks.failed("well-formed", f"It is not a credential: {error}.")
    if verifier.deadline.passed():
        checks.failed("well-formed", f"Verification stopped: {_too_long(verifier.deadline)}.")
