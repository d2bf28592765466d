"""Issuing, revoking and publishing the tool's credentials, on a SQLAlchemy session (no Flask).

The issuer is `did:web:<host>` of the tool's public HTTPS `BASE_URL` (its DID document at
`/.well-known/did.json` lists every credential key, current and retired, so old credentials keep
verifying), or `did:key` of the current key where there is no public host (the local demo).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials import builder, dids, signing, status_list
from lms_plugin.credentials.models import Credential, CredentialRequest, StatusList
from lms_plugin.frameworks.models import FrameworkVersion, Level
from lms_plugin.lti import keys
from lms_plugin.lti.models import Person
from lms_plugin.orm import utcnow
from lms_plugin.secret_box import SecretBox

PURPOSE = "credentials"
LIST_FILL_LIMIT = 0.5  # start a new list once half the indexes are used: random picks stay cheap


@dataclass(frozen=True)
class IssuerSettings:
    """Who issues: the tool's public URL, the operator's organisation, the key encryption box."""

    base_url: str
    name: str
    url: str
    box: SecretBox
    validity_days: int | None = None

    @property
    def web_host(self) -> str | None:
        """The did:web host (with port), or None when the tool has no public HTTPS URL."""
        parts = urlsplit(self.base_url)
        if parts.scheme != "https" or parts.path.strip("/"):
            return None
        return parts.netloc

    def credential_url(self, credential_id: str) -> str:
        return f"{self.base_url}/credentials/{credential_id}"

    def status_list_url(self, list_id: str) -> str:
        return f"{self.base_url}/status-lists/{list_id}"


@dataclass(frozen=True)
class SigningIdentity:
    did: str
    verification_method: str
    private_key: Ed25519PrivateKey
    key_id: int


def signing_identity(session: Session, settings: IssuerSettings) -> SigningIdentity:
    """The issuer DID, verification method and private key of the current credentials key."""
    record = keys.ensure_key(session, settings.box, PURPOSE)
    private = _private_key(record.kid, record.private_key_encrypted, settings.box)
    host = settings.web_host
    if host is None:
        return SigningIdentity(
            dids.did_key(private), dids.did_key_verification_method(private), private, record.id
        )
    did = dids.did_web(host)
    return SigningIdentity(did, f"{did}#{record.kid}", private, record.id)


@lru_cache(maxsize=16)
def _private_key(kid: str, encrypted: bytes, box: SecretBox) -> Ed25519PrivateKey:
    key = load_pem_private_key(box.decrypt(encrypted), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def did_document(session: Session, settings: IssuerSettings) -> dict[str, Any]:
    """The did:web document: every credentials key, current and retired."""
    host = settings.web_host or urlsplit(settings.base_url).netloc
    published = []
    for record in keys.all_keys(session):
        if record.purpose == PURPOSE:
            public = load_pem_public_key(record.public_key_pem.encode("ascii"))
            assert isinstance(public, Ed25519PublicKey)
            published.append(dids.PublishedKey(record.kid, public))
    return dids.did_web_document(host, published)


def issue(
    session: Session,
    settings: IssuerSettings,
    achievement: LevelAchievement,
    *,
    learner_did: str | None = None,
    now: dt.datetime | None = None,
) -> Credential:
    """Sign and store the OpenBadgeCredential for one level achievement. Flushes."""
    now = now or utcnow()
    level = session.get(Level, achievement.level_id)
    learner = session.get(Person, achievement.learner_id)
    assert level is not None and learner is not None
    version = session.get(FrameworkVersion, level.version_id)
    assert version is not None
    identity = signing_identity(session, settings)
    status = _allocate(session)
    credential_id = str(uuid.uuid4())
    framework_url = f"{settings.base_url}/frameworks/{version.id}"
    if learner_did:
        recipient = builder.Recipient.from_did(learner_did)
    elif learner.email:
        recipient = builder.Recipient.from_email(learner.email)
    else:
        recipient = builder.Recipient.from_lti_user(learner.issuer, learner.sub)
    unsigned = builder.build_achievement_credential(
        credential_id=settings.credential_url(credential_id),
        issuer=builder.Issuer(id=identity.did, name=settings.name, url=settings.url),
        recipient=recipient,
        level=builder.Level(
            key=level.key,
            label=level.label,
            url=f"{framework_url}#level-{level.id}",
            statements=[
                builder.Statement(text=s.text, url=f"{framework_url}#statement-{s.id}")
                for s in level.statements
            ],
        ),
        framework=builder.Framework(
            title=version.title,
            version=version.version_label,
            url=framework_url,
            attribution=_attribution(version),
        ),
        occupation=builder.Occupation(
            soc=version.framework.soc,
            title=version.title,
            url=builder.onet_occupation_url(version.framework.soc),
        ),
        valid_from=now,
        valid_until=now + dt.timedelta(days=settings.validity_days)
        if settings.validity_days
        else None,
        status_entry=status_list.status_entry(settings.status_list_url(status[0].id), status[1]),
    )
    signed = signing.sign_credential(
        unsigned, identity.private_key, identity.verification_method, created=now
    )
    credential = Credential(
        id=credential_id,
        achievement_id=achievement.id,
        learner_id=learner.id,
        level_id=level.id,
        key_id=identity.key_id,
        status_list_id=status[0].id,
        status_index=status[1],
        document=json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
        issued_at=now,
        valid_until=now + dt.timedelta(days=settings.validity_days)
        if settings.validity_days
        else None,
    )
    session.add(credential)
    session.flush()
    return credential


def revoke(
    session: Session, credential: Credential, reason: str, now: dt.datetime | None = None
) -> bool:
    """Set the credential's revocation bit; False if it was revoked already. Flushes."""
    if credential.revoked_at is not None:
        return False
    listed = session.get(StatusList, credential.status_list_id, with_for_update=True)
    assert listed is not None
    bits = bytearray(listed.bits)
    status_list.set_bit(bits, credential.status_index)
    listed.bits = bytes(bits)
    listed.updated_at = now or utcnow()
    credential.revoked_at = now or utcnow()
    credential.revocation_reason = reason.strip()[:2000] or "Revoked by the issuer"
    session.flush()
    return True


def credentials_of_achievement(session: Session, achievement_id: int) -> Sequence[Credential]:
    return session.scalars(
        select(Credential).where(Credential.achievement_id == achievement_id)
    ).all()


def learner_credentials(
    session: Session, settings: IssuerSettings, learner_id: int, link_id: int
) -> list[dict[str, Any]]:
    """A learner's credentials for one activity, newest first (for their page and the API);
    those still being signed come first, with status "pending" and no URL yet."""
    pending = session.scalars(
        select(Level)
        .join(LevelAchievement, LevelAchievement.level_id == Level.id)
        .join(CredentialRequest, CredentialRequest.achievement_id == LevelAchievement.id)
        .where(
            LevelAchievement.learner_id == learner_id,
            LevelAchievement.resource_link_id == link_id,
            CredentialRequest.state == "queued",
        )
    )
    waiting = [
        {
            "id": None,
            "level": level.key,
            "level_label": level.label,
            "url": None,
            "status": "pending",
        }
        for level in pending
    ]
    query = (
        select(Credential, Level)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .where(Credential.learner_id == learner_id, LevelAchievement.resource_link_id == link_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    return waiting + [
        {
            "id": credential.id,
            "level": level.key,
            "level_label": level.label,
            "url": settings.credential_url(credential.id),
            "status": "revoked" if credential.revoked_at else "active",
        }
        for credential, level in session.execute(query)
    ]


def link_credentials(
    session: Session, settings: IssuerSettings, link_id: int
) -> list[dict[str, Any]]:
    """Every credential issued in one activity, newest first, for staff."""
    query = (
        select(Credential, Level, Person)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .join(Person, Person.id == Credential.learner_id)
        .where(LevelAchievement.resource_link_id == link_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    return [
        {
            "id": credential.id,
            "learner": person.name or person.sub,
            "level_label": level.label,
            "url": settings.credential_url(credential.id),
            "issued_at": credential.issued_at,
            "revoked": credential.revoked_at is not None,
            "reason": credential.revocation_reason,
        }
        for credential, level, person in session.execute(query)
    ]


def signed_status_list(
    session: Session, settings: IssuerSettings, list_id: str
) -> dict[str, Any] | None:
    """The list as a signed BitstringStatusListCredential, or None if there is no such list.

    It is dated by the list's last change, so the same bits give the same signed document
    (Ed25519 is deterministic) and verifiers' caches keep working."""
    listed = session.get(StatusList, list_id)
    if listed is None:
        return None
    identity = signing_identity(session, settings)
    unsigned = status_list.status_list_credential(
        list_url=settings.status_list_url(listed.id),
        issuer=identity.did,
        bits=listed.bits,
        valid_from=listed.updated_at,
    )
    return signing.sign_credential(
        unsigned, identity.private_key, identity.verification_method, created=listed.updated_at
    )


def _allocate(session: Session) -> tuple[StatusList, int]:
    """A random free index in a revocation list with room (a new list when all are half full)."""
    used_counts = (
        select(Credential.status_list_id, func.count().label("used"))
        .group_by(Credential.status_list_id)
        .subquery()
    )
    candidate = session.execute(
        select(StatusList, func.coalesce(used_counts.c.used, 0))
        .outerjoin(used_counts, used_counts.c.status_list_id == StatusList.id)
        .where(StatusList.purpose == status_list.REVOCATION)
        .order_by(StatusList.created_at)
    ).all()
    for listed, used in candidate:
        if used < listed.size * LIST_FILL_LIMIT:
            taken = set(
                session.scalars(
                    select(Credential.status_index).where(Credential.status_list_id == listed.id)
                )
            )
            return listed, status_list.allocate_index(taken, listed.size)
    listed = StatusList(
        id=str(uuid.uuid4()),
        purpose=status_list.REVOCATION,
        size=status_list.STATUS_LIST_SIZE,
        bits=bytes(status_list.new_bitstring()),
    )
    session.add(listed)
    session.flush()
    return listed, status_list.allocate_index(set(), listed.size)


def _attribution(version: FrameworkVersion) -> str:
    sources = "; ".join(f"{name}: {value}" for name, value in version.sources.items())
    return ". ".join(part for part in (version.attribution, sources) if part)
