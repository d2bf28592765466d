"""Whether an e-mail address is the earner's: `email_matches` compares it with the credential's
e-mail identities (OB 3.0 `IdentityObject`s of `identityType` `emailAddress`), hashed as
`builder.identity_hash` makes them (`sha256$` + hex SHA-256 of the trimmed, lower-cased address
followed by the salt) or plain. It answers only yes or no, and reads the credential (nobody vouches
for it) without raising.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from lms_plugin.credentials.builder import identity_hash

MAX_EMAIL_LENGTH = 320
MAX_IDENTITIES = 32  # identities looked at, over every subject
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_SHA256 = re.compile(r"sha256\$[0-9a-fA-F]{64}")


class EmailRefused(ValueError):
    """The text given is not an e-mail address worth comparing; the message is plain."""


def normalized_email(email: Any) -> str:
    """The address as OB hashing reads it (trimmed, lower-cased), or `EmailRefused`."""
    if not isinstance(email, str):
        raise EmailRefused('"email" must be text: an e-mail address')
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise EmailRefused(f"give one e-mail address (at most {MAX_EMAIL_LENGTH} characters)")
    return email


def email_matches(credential: Any, email: str) -> bool:
    """True when `email` (already `normalized_email`) is one of the credential's e-mail
    identities."""
    for identity in _email_identities(credential):
        hashed, value = identity.get("hashed"), identity.get("identityHash")
        if not isinstance(value, str):
            continue
        if hashed is True:
            salt = identity.get("salt", "")
            if isinstance(salt, str) and _SHA256.fullmatch(value):
                expected = identity_hash(email, salt)
                if hmac.compare_digest(expected.encode(), value.lower().encode("ascii")):
                    return True
        elif hashed is False and hmac.compare_digest(
            value.strip().lower().encode("utf-8"), email.encode("utf-8")
        ):
            return True
    return False


def names_an_email(credential: Any) -> bool:
    """Whether the credential has an e-mail identity to check an address against."""
    return bool(_email_identities(credential))


def _email_identities(credential: Any) -> list[Mapping[str, Any]]:
    if not isinstance(credential, Mapping):
        return []
    subjects = credential.get("credentialSubject")
    found: list[Mapping[str, Any]] = []
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if not isinstance(subject, Mapping):
            continue
        identifiers = subject.get("identifier")
        for identity in identifiers if isinstance(identifiers, list) else [identifiers]:
            if isinstance(identity, Mapping) and identity.get("identityType") == "emailAddress":
                found.append(identity)
    return found[:MAX_IDENTITIES]
