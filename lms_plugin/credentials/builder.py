"""Open Badges 3.0 credentials built from plain values (no ORM objects), ready to sign.

`build_achievement_credential` makes the `OpenBadgeCredential` for one achieved framework level
(`clr.build_clr` bundles several into a CLR 2.0 `ClrCredential`). Every property
used is defined by the pinned VC 2.0 and OB 3.0.3 contexts (the DCC verifier refuses undefined
terms), and the learner appears only as a salted e-mail hash or a DID they gave.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lms_plugin.credentials.documents import OB_V3P0, VC_V2
from lms_plugin.orm import utc_iso

CREDENTIAL_CONTEXT = (VC_V2, OB_V3P0)
CREDENTIAL_TYPE = ("VerifiableCredential", "OpenBadgeCredential")

# An OB 3.0 AlignmentTargetType: statements are CASE CFItems (served at /ims/case/v1p0/CFItems/,
# issue 15), so a statement's alignment targets its CFItem URL.
STATEMENT_TARGET_TYPE = "CFItem"
OCCUPATION_TARGET_TYPE = "ext:Occupation"
OCCUPATION_FRAMEWORK = "O*NET-SOC"


@dataclass(frozen=True)
class Issuer:
    """The issuer's `Profile`: `id` is its DID (did:web of the tool's host, or did:key)."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class Statement:
    """One framework statement and its public URL."""

    text: str
    url: str
    code: str | None = None


@dataclass(frozen=True)
class Occupation:
    """The occupation the framework covers, e.g. SOC 43-6012.00 and its O*NET page."""

    soc: str
    title: str
    url: str


@dataclass(frozen=True)
class Framework:
    """The framework version judged against; `attribution` travels into every credential."""

    title: str
    version: str
    url: str
    attribution: str = ""
    creator: Issuer | None = None


@dataclass(frozen=True)
class Level:
    """The achieved level; `url` is its public page and becomes the Achievement's id."""

    key: str
    label: str
    url: str
    statements: Sequence[Statement] = field(default_factory=tuple)


@dataclass(frozen=True)
class Recipient:
    """Who earned it: a DID the learner gave, or an e-mail kept only as a salted SHA-256; and
    `name`, shown in plain only when the learner chose to show it."""

    did: str | None = None
    email_hash: str | None = None
    salt: str | None = None
    identity_type: str = "emailAddress"
    name: str | None = None

    @classmethod
    def from_email(cls, email: str, salt: str | None = None) -> Recipient:
        salt = salt if salt is not None else secrets.token_hex(16)
        return cls(email_hash=identity_hash(email, salt), salt=salt)

    @classmethod
    def from_lti_user(cls, issuer: str, sub: str, salt: str | None = None) -> Recipient:
        """When the LMS shares no e-mail: the salted hash of `<platform issuer>|<LTI user id>`
        (OB identityType `ltiUserId`), which the learner's LMS account can vouch for."""
        salt = salt if salt is not None else secrets.token_hex(16)
        return cls(
            email_hash=identity_hash(f"{issuer}|{sub}", salt), salt=salt, identity_type="ltiUserId"
        )

    @classmethod
    def from_did(cls, did: str) -> Recipient:
        if not did.startswith("did:"):
            raise ValueError(f"not a DID: {did!r}")
        return cls(did=did)


@dataclass(frozen=True)
class Evidence:
    """A statement judged met: when, the evidence link, and the evaluator's comment if they chose
    to show it in the credential."""

    statement: str
    judged_at: dt.datetime
    url: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class BadgeImage:
    """The achievement's picture (an OB `Image`): its URL and a caption for people who cannot
    see it."""

    url: str
    caption: str


EVIDENCE_GENRE = "Evaluator judgement"
# Characters an IRI may not hold (RFC 3987): percent-encoded in evidence links so that every
# verifier canonicalizes the credential alike.
IRI_SAFE = "/:?#[]@!$&'()*+,;=%~-._"


def identity_hash(identity: str, salt: str) -> str:
    """OB `IdentityHash`: `sha256$` + hex SHA-256 of the (trimmed, lower-cased) identity + salt."""
    digest = hashlib.sha256((identity.strip().lower() + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def xsd_datetime(moment: dt.datetime) -> str:
    """UTC, whole seconds, with `Z` (naive datetimes are taken as UTC)."""
    return utc_iso(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC), "seconds")


def achievement_name(occupation: Occupation, level: Level) -> str:
    """The achievement's (and the credential's) name."""
    return f"{occupation.title}: {level.label}"


def level_label(document: dict[str, Any]) -> str | None:
    """The level's label in a credential this builder made (None if it is not there)."""
    try:
        achievement = document["credentialSubject"]["achievement"]
        label = achievement["resultDescription"][0]["rubricCriterionLevel"][0]["name"]
    except (KeyError, IndexError, TypeError):
        return None
    return label if isinstance(label, str) else None


def onet_occupation_url(soc: str) -> str:
    """O*NET OnLine's page for an O*NET-SOC code such as `43-6012.00`."""
    return f"https://www.onetonline.org/link/summary/{soc}"


def recipient_did(document: Mapping[str, Any]) -> str | None:
    """The DID a credential this builder made is bound to (None: a hashed identity)."""
    subject = document.get("credentialSubject")
    did = subject.get("id") if isinstance(subject, Mapping) else None
    return did if isinstance(did, str) and did.startswith("did:") else None


def _profile(issuer: Issuer) -> dict[str, Any]:
    profile: dict[str, Any] = {"id": issuer.id, "type": ["Profile"], "name": issuer.name}
    if issuer.url:
        profile["url"] = issuer.url
    return profile


def _criteria_narrative(level: Level, framework: Framework) -> str:
    lines = [
        f"Judged by an evaluator to meet the {level.label} level of the framework "
        f'"{framework.title}" (version {framework.version}), whose statements are:',
        "",
    ]
    lines += [f"- {statement.text}" for statement in level.statements]
    if framework.attribution:
        lines += ["", f"Framework: {framework.attribution}"]
    return "\n".join(lines)


def _alignments(
    level: Level, framework: Framework, occupation: Occupation, statement_target_type: str
) -> list[dict[str, Any]]:
    alignments = []
    for position, statement in enumerate(level.statements, start=1):
        alignment = {
            "type": ["Alignment"],
            "targetName": statement.text,
            "targetUrl": statement.url,
            "targetFramework": f"{framework.title} {framework.version}",
            "targetCode": statement.code or f"{level.key}.{position}",
            "targetType": statement_target_type,
        }
        alignments.append(alignment)
    alignments.append(
        {
            "type": ["Alignment"],
            "targetName": occupation.title,
            "targetUrl": occupation.url,
            "targetFramework": OCCUPATION_FRAMEWORK,
            "targetCode": occupation.soc,
            "targetType": OCCUPATION_TARGET_TYPE,
        }
    )
    return alignments


def build_achievement(
    *,
    level: Level,
    framework: Framework,
    occupation: Occupation,
    statement_target_type: str = STATEMENT_TARGET_TYPE,
    image: BadgeImage | None = None,
) -> dict[str, Any]:
    """The OB `Achievement` for a framework level (the same for every learner of one issuer who
    reaches it)."""
    if not level.statements:
        raise ValueError("a level needs at least one statement")
    count = len(level.statements)
    description = (
        f"The {level.label} level of the {occupation.title} (SOC {occupation.soc}) competency "
        f"framework, version {framework.version}: {count} statement{'' if count == 1 else 's'} met."
    )
    if framework.attribution:
        description += f" Framework: {framework.attribution}"
    achievement: dict[str, Any] = {
        "id": level.url,
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": achievement_name(occupation, level),
        "description": description,
        "criteria": {"narrative": _criteria_narrative(level, framework)},
        "alignment": _alignments(level, framework, occupation, statement_target_type),
        "version": framework.version,
        "tag": [f"SOC {occupation.soc}", level.label],
        "resultDescription": [
            {
                "id": _part_id(level, "result"),
                "type": ["ResultDescription"],
                "name": "Framework level achieved",
                "resultType": "RubricCriterionLevel",
                "rubricCriterionLevel": [
                    {
                        "id": _level_id(level),
                        "type": ["RubricCriterionLevel"],
                        "name": level.label,
                        "level": level.key,
                        "description": f"The {level.label} level's statements are met.",
                    }
                ],
                "requiredLevel": _level_id(level),
            }
        ],
    }
    if image is not None:
        achievement["image"] = {"id": image.url, "type": "Image", "caption": image.caption}
    if framework.creator is not None:
        achievement["creator"] = _profile(framework.creator)
    return achievement


def identity_objects(recipient: Recipient) -> list[dict[str, Any]]:
    """The recipient's OB `IdentityObject`s: the salted hash, and the name if they show it."""
    identifiers = []
    if recipient.email_hash and recipient.salt is not None:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": recipient.email_hash,
                "identityType": recipient.identity_type,
                "hashed": True,
                "salt": recipient.salt,
            }
        )
    if recipient.name and recipient.name.strip():
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": recipient.name.strip(),
                "identityType": "name",
                "hashed": False,
            }
        )
    return identifiers


def _evidence(item: Evidence) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if item.url:
        entry["id"] = quote(item.url.strip(), safe=IRI_SAFE)
    entry |= {
        "type": ["Evidence"],
        "name": item.statement,
        "description": f"Judged met on {item.judged_at.date().isoformat()}.",
        "genre": EVIDENCE_GENRE,
    }
    if item.comment and item.comment.strip():
        entry["narrative"] = item.comment.strip()
    return entry


def _level_id(level: Level) -> str:
    return _part_id(level, "level")


def _part_id(level: Level, part: str) -> str:
    """An IRI for a part of the level's Achievement: a fragment of its URL, or, when that URL
    already has one (`.../frameworks/1#level-1`), that fragment extended (an IRI has at most one
    `#`). Credentials issued before kept `#level-1#result`: they verify as signed."""
    return f"{level.url}-{part}" if "#" in level.url else f"{level.url}#{part}"


def build_achievement_credential(
    *,
    credential_id: str,
    issuer: Issuer,
    recipient: Recipient,
    level: Level,
    framework: Framework,
    occupation: Occupation,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None = None,
    status_entry: Mapping[str, Any] | None = None,
    statement_target_type: str = STATEMENT_TARGET_TYPE,
    evidence: Sequence[Evidence] = (),
    image: BadgeImage | None = None,
) -> dict[str, Any]:
    """An unsigned `OpenBadgeCredential` for one achieved level (pass it to `sign_credential`):
    `evidence` for the statements judged met, `image` the level's badge."""
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.did:
        subject["id"] = recipient.did
    elif not (recipient.email_hash and recipient.salt is not None):
        raise ValueError("the recipient needs a DID or a salted e-mail hash")
    identifiers = identity_objects(recipient)
    if identifiers:
        subject["identifier"] = identifiers
    subject["achievement"] = build_achievement(
        level=level,
        framework=framework,
        occupation=occupation,
        statement_target_type=statement_target_type,
        image=image,
    )
    subject["result"] = [
        {
            "type": ["Result"],
            "resultDescription": _part_id(level, "result"),
            "achievedLevel": _level_id(level),
            "status": "Completed",
        }
    ]
    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "name": achievement_name(occupation, level),
        "issuer": _profile(issuer),
        "validFrom": xsd_datetime(valid_from),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise ValueError("validUntil must be after validFrom")
        credential["validUntil"] = xsd_datetime(valid_until)
    credential["credentialSubject"] = subject
    if evidence:
        credential["evidence"] = [_evidence(item) for item in evidence]
    if status_entry is not None:
        credential["credentialStatus"] = dict(status_entry)
    return credential
