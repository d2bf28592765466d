"""What a credential says, for the employer who was handed it: `describe` reads the facts that
`POST /api/v1/verify`, the CLI and the pages show (achievement, level, framework, statements,
issuer, earner, dates, status) from a parsed credential nobody vouches for. It never raises: a
fact missing or of an unexpected shape is `None`, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lms_plugin.credentials.builder import OCCUPATION_TARGET_TYPE, xsd_datetime

Trust = Literal["self", "registry", "unknown"]


@dataclass(frozen=True)
class Listing:
    """An issuer registry's entry for the issuer: the registry's name, and the name and URL the
    registry gives the issuer (shown instead of the credential's own claims about itself)."""

    registry: str
    name: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Status:
    """Revocation as known: `revoked` None when it could not be checked; the reason and date only
    for the tool's own credentials (read from its records)."""

    revoked: bool | None = None
    reason: str | None = None
    revoked_at: dt.datetime | None = None


def describe(
    credential: Mapping[str, Any],
    *,
    trust: Trust = "unknown",
    listing: Listing | None = None,
    status: Status = Status(),
) -> dict[str, Any]:
    """The `credential` object of a verification answer (every key present, absent facts None);
    `listing` (trust "registry") names the registry and what it calls the issuer."""
    subject = _first_mapping(credential.get("credentialSubject"))
    achievement = _one(subject.get("achievement"))
    issuer = credential.get("issuer")
    issuer_profile = _mapping(issuer)
    return {
        "name": _text(credential.get("name")),
        "achievement": _achievement(achievement, subject),
        "issuer": {
            "id": _text(issuer) if isinstance(issuer, str) else _text(issuer_profile.get("id")),
            "name": (listing and listing.name) or _text(issuer_profile.get("name")),
            "url": (listing and listing.url) or _text(issuer_profile.get("url")),
            "trust": trust,
            "registry": listing.registry if listing else None,
        },
        "earner": {"name": _earner_name(subject)},
        "issued": _timestamp(credential.get("validFrom")),
        "expires": _timestamp(credential.get("validUntil")),
        "status": {
            "revoked": status.revoked,
            "reason": status.reason,
            "revoked_at": None if status.revoked_at is None else _utc(status.revoked_at),
        },
    }


def _achievement(achievement: Mapping[str, Any], subject: Mapping[str, Any]) -> dict[str, Any]:
    version = _text(achievement.get("version"))
    alignments = [a for a in _list(achievement.get("alignment")) if isinstance(a, Mapping)]
    statements = [a for a in alignments if a.get("targetType") != OCCUPATION_TARGET_TYPE]
    return {
        "id": _text(achievement.get("id")),
        "name": _text(achievement.get("name")),
        "level": _level(achievement, subject),
        "framework": _framework(statements, version),
        "version": version,
        "statements": [
            {"text": _text(a.get("targetName")), "url": _text(a.get("targetUrl"))}
            for a in statements
        ],
    }


def _level(achievement: Mapping[str, Any], subject: Mapping[str, Any]) -> str | None:
    """The name of the rubric level the subject's result says was achieved."""
    achieved = {
        result.get("achievedLevel")
        for result in _list(subject.get("result"))
        if isinstance(result, Mapping) and isinstance(result.get("achievedLevel"), str)
    }
    for description in _list(achievement.get("resultDescription")):
        if not isinstance(description, Mapping):
            continue
        for level in _list(description.get("rubricCriterionLevel")):
            if isinstance(level, Mapping) and level.get("id") in achieved:
                return _text(level.get("name"))
    return None


def _framework(statements: list[Mapping[str, Any]], version: str | None) -> str | None:
    """The framework the statements align to (our builder writes "<title> <version>")."""
    for alignment in statements:
        name = _text(alignment.get("targetFramework"))
        if name is not None:
            if version and name.endswith(f" {version}") and len(name) > len(version) + 1:
                return name.removesuffix(f" {version}")
            return name
    return None


def _earner_name(subject: Mapping[str, Any]) -> str | None:
    """`credentialSubject.name`, else a name the learner chose to show (an unhashed
    IdentityObject of type `name`); never a hashed identity."""
    name = _text(subject.get("name"))
    if name is not None:
        return name
    for identity in _list(subject.get("identifier")):
        if (
            isinstance(identity, Mapping)
            and identity.get("identityType") == "name"
            and identity.get("hashed") is False
        ):
            return _text(identity.get("identityHash"))
    return None


def _timestamp(value: Any) -> str | None:
    """A date and time as UTC `...Z` (whole seconds), or None when it is not one."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return _utc(moment)


def _utc(moment: dt.datetime) -> str | None:
    try:
        return xsd_datetime(moment)
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _one(value: Any) -> Mapping[str, Any]:
    """An object, or a list of just one (the same in JSON-LD, and so under the signature)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _mapping(value)


def _first_mapping(value: Any) -> Mapping[str, Any]:
    return next((item for item in _list(value) if isinstance(item, Mapping)), {})
