"""CLR 2.0 (1EdTech Comprehensive Learner Record 2.0.1): one signed `ClrCredential` bundling a
learner's level credentials of a framework, with the levels' order as associations.

The bundle embeds the signed credentials exactly as they were issued (each keeps its own id,
proof and status entry, and verifies on its own), lists their achievements, says that each level
`precedes` the next one held, and names the learner as the level credentials do: a salted hash (a
new salt), their DID, and their name only if they chose to show it. The bundle itself is signed
with the issuer profile's key (`eddsa-rdfc-2022`) and never stored: every download is a new one.
No network, no Flask, no LMS models: the caller picks the credentials and the recipient.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lms_plugin.credentials import builder, sharing, signing
from lms_plugin.credentials.documents import CLR_V2P0, OB_V3P0, VC_V2

if TYPE_CHECKING:  # issuance reads the database; verifying (which imports this) must not need it
    from lms_plugin.credentials.issuance import IssuerIdentity

CLR_CONTEXT = (VC_V2, CLR_V2P0, OB_V3P0)
CLR_TYPE = ("VerifiableCredential", "ClrCredential")
PRECEDES = "precedes"


def is_clr(document: Mapping[str, Any]) -> bool:
    """Whether a (parsed, untrusted) document says it is a ClrCredential."""
    kinds = document.get("type")
    return "ClrCredential" in (kinds if isinstance(kinds, list) else [kinds])


def embedded_credentials(document: Mapping[str, Any]) -> list[Any]:
    """The `verifiableCredential` entries of a ClrCredential's subject (as given: untrusted)."""
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        return []
    embedded = subject.get("verifiableCredential", [])
    return embedded if isinstance(embedded, list) else [embedded]


def _achievements(credentials: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each credential's achievement, once per id, in the credentials' order."""
    seen: dict[str, dict[str, Any]] = {}
    for credential in credentials:
        achievement = credential["credentialSubject"]["achievement"]
        seen.setdefault(achievement["id"], achievement)
    return list(seen.values())


def build_clr(
    *,
    clr_id: str,
    issuer: builder.Issuer,
    recipient: builder.Recipient,
    name: str,
    credentials: Sequence[Mapping[str, Any]],
    valid_from: dt.datetime,
) -> dict[str, Any]:
    """An unsigned ClrCredential holding `credentials` (signed level credentials, lowest level
    first), their achievements and a `precedes` association between consecutive ones."""
    if not credentials:
        raise ValueError("a CLR holds at least one credential")
    achievements = _achievements(credentials)
    subject: dict[str, Any] = {"type": ["ClrSubject"]}
    if recipient.did:
        subject["id"] = recipient.did
    identifiers = builder.identity_objects(recipient)
    if identifiers:
        subject["identifier"] = identifiers
    elif not recipient.did:
        raise ValueError("the recipient needs a DID or a salted e-mail hash")
    subject["verifiableCredential"] = [dict(credential) for credential in credentials]
    subject["achievement"] = achievements
    associations = [
        {
            "type": "Association",
            "associationType": PRECEDES,
            "sourceId": lower["id"],
            "targetId": higher["id"],
        }
        for lower, higher in zip(achievements, achievements[1:], strict=False)
    ]
    if associations:
        subject["association"] = associations
    return {
        "@context": list(CLR_CONTEXT),
        "id": clr_id,
        "type": list(CLR_TYPE),
        "name": name,
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name}
        | ({"url": issuer.url} if issuer.url else {}),
        "validFrom": builder.xsd_datetime(valid_from),
        "credentialSubject": subject,
    }


def clr_name(framework_title: str) -> str:
    return f"{framework_title}: levels achieved"


def issue_clr(
    issuer: IssuerIdentity,
    recipient: builder.Recipient,
    framework_title: str,
    documents: Sequence[str],
    now: dt.datetime,
) -> dict[str, Any]:
    """The signed ClrCredential bundling the stored credential `documents` (their JSON text, lowest
    level first), issued now by `issuer`."""
    unsigned = build_clr(
        clr_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=issuer.as_builder_issuer(),
        recipient=recipient,
        name=clr_name(framework_title),
        credentials=[json.loads(document) for document in documents],
        valid_from=now,
    )
    identity = issuer.signing
    return signing.sign_credential(
        unsigned, identity.private_key, identity.verification_method, created=now
    )


def serialize(clr: Mapping[str, Any]) -> str:
    """The JSON text of a ClrCredential, written as stored credentials are, so that each embedded
    credential's text is the stored text byte for byte."""
    return json.dumps(clr, ensure_ascii=False, separators=(",", ":"))


def download_name(framework_title: str, day: dt.date) -> str:
    """`<framework>-levels-<date>.json`, ASCII only (safe in a Content-Disposition)."""
    parts = [sharing.slug(framework_title), "levels", day.isoformat()]
    return "-".join(part for part in parts if part) + ".json"
