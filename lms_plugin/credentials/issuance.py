"""Issuing, revoking and publishing credentials, on a SQLAlchemy session (no Flask).

A credential names the institution whose evaluators judged: the issuer profile of the course's
platform (or deployment), signed with that profile's own key, so one institution's evaluators can
never vouch in another's name. Profiles live with the LMS registrations, outside this package:
`IssuerSettings.profiles` (an `IssuerDirectory` the app wires in) finds them.

With a public HTTPS `BASE_URL` a profile is `did:web:<host>:issuers:<slug>`, its document at
`/issuers/<slug>/did.json` listing every key of the profile, current and retired; without one (the
local demo) it is `did:key` of the profile's current key. The tool's own `did:web:<host>` (document
at `/.well-known/did.json`) issued credentials before there were profiles: it keeps publishing its
keys and signing those credentials' status lists, so they keep verifying.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin import keys
from lms_plugin.credentials import badge_image, builder, dids, facts, signing, status_list
from lms_plugin.credentials.models import Credential, StatusList
from lms_plugin.keys import ToolKey
from lms_plugin.orm import utcnow
from lms_plugin.secret_box import SecretBox

PURPOSE = "credentials"
PROFILE_PATH = "issuers"  # did:web:<host>:issuers:<slug>, served at /issuers/<slug>/did.json
LIST_FILL_LIMIT = 0.5  # start a new list once half the indexes are used: random picks stay cheap


@dataclass(frozen=True)
class IssuerProfileInfo:
    """What a credential says of its issuer profile: `slug` is its did:web path segment."""

    id: int
    slug: str
    name: str
    url: str | None = None


class IssuerDirectory(Protocol):
    """The issuer profiles, kept with the LMS registrations (implemented outside this package)."""

    def for_resource_link(self, session: Session, resource_link_id: int) -> IssuerProfileInfo:
        """The profile of the placement's course: its deployment's, else its platform's, else
        a default one created now (in the caller's transaction). Flushes."""
        ...

    def by_id(self, session: Session, profile_id: int) -> IssuerProfileInfo | None: ...

    def by_slug(self, session: Session, slug: str) -> IssuerProfileInfo | None: ...


@dataclass(frozen=True)
class IssuerSettings:
    """Who issues: the tool's public URL, the issuer profiles, the key encryption box."""

    base_url: str
    box: SecretBox
    profiles: IssuerDirectory
    validity_days: int | None = None

    @property
    def web_host(self) -> str | None:
        """The did:web host (with port), or None when the tool has no public HTTPS URL."""
        parts = urlsplit(self.base_url)
        if parts.scheme != "https" or parts.path.strip("/"):
            return None
        return parts.netloc

    @property
    def did_host(self) -> str:
        """The host of the tool's did:web documents (served even where credentials use did:key)."""
        return self.web_host or urlsplit(self.base_url).netloc

    @property
    def tool_did(self) -> str:
        """The tool's own did:web (it issued every credential before issuer profiles)."""
        return dids.did_web(self.did_host)

    @property
    def profile_did_prefix(self) -> str:
        """`did:web:<host>:issuers:`, followed by a profile's slug."""
        return f"{self.tool_did}:{PROFILE_PATH}:"

    def profile_did_web(self, slug: str) -> str:
        """`did:web:<host>:issuers:<slug>`."""
        return dids.did_web(self.did_host, (PROFILE_PATH, slug))

    def credential_url(self, credential_id: str) -> str:
        return f"{self.base_url}/credentials/{credential_id}"

    def status_list_url(self, list_id: str) -> str:
        return f"{self.base_url}/status-lists/{list_id}"

    def level_badge_url(self, slug: str, level_id: int) -> str:
        """The badge picture of a level as one issuer profile awards it."""
        return f"{self.base_url}/{PROFILE_PATH}/{slug}/badges/{level_id}.svg"


@dataclass(frozen=True)
class SigningIdentity:
    """A DID and the current key it signs with (`key_id`: the `ToolKey`)."""

    did: str
    verification_method: str
    private_key: Ed25519PrivateKey
    key_id: int


@dataclass(frozen=True)
class IssuerIdentity:
    """A credential's issuer: the profile (name, URL) and how it signs."""

    profile: IssuerProfileInfo
    signing: SigningIdentity

    @property
    def did(self) -> str:
        return self.signing.did

    def as_builder_issuer(self) -> builder.Issuer:
        return builder.Issuer(id=self.did, name=self.profile.name, url=self.profile.url)


def signing_identity(session: Session, settings: IssuerSettings) -> SigningIdentity:
    """The tool's own DID and current key (it signs the status lists of credentials issued
    before issuer profiles)."""
    record = keys.ensure_key(session, settings.box, PURPOSE)
    if settings.web_host is None:
        return _did_key_identity(record, settings.box)
    return _web_identity(record, settings.tool_did, settings.box)


def profile_identity(
    session: Session, settings: IssuerSettings, profile: IssuerProfileInfo
) -> IssuerIdentity:
    """The profile as an issuer, with its current key (created on first use). Flushes."""
    record = keys.ensure_key(session, settings.box, PURPOSE, profile.id)
    if settings.web_host is None:
        return IssuerIdentity(profile, _did_key_identity(record, settings.box))
    return IssuerIdentity(
        profile, _web_identity(record, settings.profile_did_web(profile.slug), settings.box)
    )


def issuer_for(session: Session, settings: IssuerSettings, resource_link_id: int) -> IssuerIdentity:
    """The issuer of an activity's credentials: its course's profile, as it is now."""
    profile = settings.profiles.for_resource_link(session, resource_link_id)
    return profile_identity(session, settings, profile)


def _did_key_identity(record: ToolKey, box: SecretBox) -> SigningIdentity:
    private = _private_key(record.kid, record.private_key_encrypted, box)
    return SigningIdentity(
        dids.did_key(private), dids.did_key_verification_method(private), private, record.id
    )


def _web_identity(record: ToolKey, did: str, box: SecretBox) -> SigningIdentity:
    private = _private_key(record.kid, record.private_key_encrypted, box)
    return SigningIdentity(did, f"{did}#{record.kid}", private, record.id)


@lru_cache(maxsize=256)
def _private_key(kid: str, encrypted: bytes, box: SecretBox) -> Ed25519PrivateKey:
    key = load_pem_private_key(box.decrypt(encrypted), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def did_document(session: Session, settings: IssuerSettings) -> dict[str, Any]:
    """The tool's own did:web document: every key of the tool (not of profiles), current and
    retired."""
    records = [
        record
        for record in keys.all_keys(session)
        if record.purpose == PURPOSE and record.issuer_profile_id is None
    ]
    return dids.did_web_document(settings.did_host, _published(records))


def profile_did_document(
    session: Session, settings: IssuerSettings, slug: str
) -> dict[str, Any] | None:
    """A profile's did:web document (every key of the profile, current and retired), or None
    when there is no such profile."""
    profile = settings.profiles.by_slug(session, slug)
    if profile is None:
        return None
    records = keys.profile_keys(session, profile.id)
    return dids.did_web_document(
        settings.did_host, _published(records), (PROFILE_PATH, profile.slug)
    )


def is_own_did(settings: IssuerSettings, did: str) -> bool:
    """The tool's did:web or one of its profiles': resolved here, never fetched."""
    return did == settings.tool_did or did.startswith(settings.profile_did_prefix)


def own_did_document(session: Session, settings: IssuerSettings, did: str) -> dict[str, Any] | None:
    """The document of the tool's own DID or of one of its profiles' (None: no such profile)."""
    if did == settings.tool_did:
        return did_document(session, settings)
    if not did.startswith(settings.profile_did_prefix):
        return None
    document = profile_did_document(
        session, settings, did.removeprefix(settings.profile_did_prefix)
    )
    return document if document is not None and document["id"] == did else None


def _published(records: Sequence[ToolKey]) -> list[dids.PublishedKey]:
    published = []
    for record in records:
        public = load_pem_public_key(record.public_key_pem.encode("ascii"))
        assert isinstance(public, Ed25519PublicKey)
        published.append(dids.PublishedKey(record.kid, public))
    return published


@dataclass(frozen=True)
class Award:
    """What a credential is for and whom, as the caller (assessment) knows it: the ids are kept
    with the credential, the rest goes into the signed document."""

    achievement_id: int
    learner_id: int
    level_id: int
    resource_link_id: int
    recipient: builder.Recipient
    level: builder.Level
    framework: builder.Framework
    occupation: builder.Occupation
    evidence: Sequence[builder.Evidence] = ()


@dataclass(frozen=True)
class Issued:
    """A credential just signed and stored, with what its document says of the achievement."""

    credential: Credential
    achievement_iri: str
    achievement_name: str
    issuer_did: str


def issue(
    session: Session,
    settings: IssuerSettings,
    award: Award,
    issuer: IssuerIdentity | None = None,
    *,
    now: dt.datetime | None = None,
) -> Issued:
    """Sign and store the OpenBadgeCredential for one award, as `issuer` (default: `issuer_for`
    the award's activity). Flushes."""
    now = now or utcnow()
    issuer = issuer or issuer_for(session, settings, award.resource_link_id)
    identity = issuer.signing
    status = _allocate(session, issuer.profile.id)
    credential_id = str(uuid.uuid4())
    valid_until = (
        now + dt.timedelta(days=settings.validity_days) if settings.validity_days else None
    )
    unsigned = builder.build_achievement_credential(
        credential_id=settings.credential_url(credential_id),
        issuer=issuer.as_builder_issuer(),
        recipient=award.recipient,
        level=award.level,
        framework=award.framework,
        occupation=award.occupation,
        valid_from=now,
        valid_until=valid_until,
        status_entry=status_list.status_entry(settings.status_list_url(status[0].id), status[1]),
        evidence=award.evidence,
        image=builder.BadgeImage(
            url=settings.level_badge_url(issuer.profile.slug, award.level_id),
            caption=badge_image.description(
                award.framework.title, award.level.label, issuer.profile.name
            ),
        ),
    )
    signed = signing.sign_credential(
        unsigned, identity.private_key, identity.verification_method, created=now
    )
    credential = Credential(
        id=credential_id,
        achievement_id=award.achievement_id,
        learner_id=award.learner_id,
        level_id=award.level_id,
        key_id=identity.key_id,
        status_list_id=status[0].id,
        status_index=status[1],
        document=json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
        issued_at=now,
        valid_until=valid_until,
    )
    session.add(credential)
    session.flush()
    return Issued(
        credential,
        achievement_iri=award.level.url,
        achievement_name=builder.achievement_name(award.occupation, award.level),
        issuer_did=issuer.did,
    )


def revoke(
    session: Session, credential: Credential, reason: str, now: dt.datetime | None = None
) -> bool:
    """Set the credential's revocation bit; False if it was revoked already. Flushes."""
    revoked = revoke_many(session, [(credential, reason, now or utcnow())])
    session.flush()
    return revoked == 1


def revoke_many(
    session: Session, revocations: Sequence[tuple[Credential, str, dt.datetime]]
) -> int:
    """Revoke each credential (with its reason, at its time) not revoked yet: every status list
    concerned is locked once, in id order, and rewritten once. Returns how many were revoked;
    the caller flushes."""
    wanted = [(c, reason, at) for c, reason, at in revocations if c.revoked_at is None]
    if not wanted:
        return 0
    lists = session.scalars(
        select(StatusList)
        .where(StatusList.id.in_({c.status_list_id for c, _, _ in wanted}))
        .order_by(StatusList.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the bits as locked, not as read before
    )
    bits = {listed.id: (listed, bytearray(listed.bits)) for listed in lists}
    for credential, reason, at in wanted:
        listed, list_bits = bits[credential.status_list_id]
        status_list.set_bit(list_bits, credential.status_index)
        listed.updated_at = at
        credential.revoked_at = at
        credential.revocation_reason = reason.strip()[:2000] or "Revoked by the issuer"
    for listed, list_bits in bits.values():
        listed.bits = bytes(list_bits)
    return len(wanted)


def reissue(
    session: Session,
    settings: IssuerSettings,
    old: Credential,
    award: Award,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> Issued:
    """A new credential for `award` that replaces `old`, which is revoked with `reason` (its page
    then says so; the new one has its own id and status entry). Flushes."""
    now = now or utcnow()
    issued = issue(session, settings, award, now=now)
    revoke(session, old, reason, now=now)
    return issued


def credentials_of_achievement(session: Session, achievement_id: int) -> Sequence[Credential]:
    return session.scalars(
        select(Credential).where(Credential.achievement_id == achievement_id)
    ).all()


def signed_status_list(
    session: Session, settings: IssuerSettings, list_id: str
) -> dict[str, Any] | None:
    """The list as a signed BitstringStatusListCredential, or None if there is no such list.

    It is dated by the list's last change, so the same bits give the same signed document
    (Ed25519 is deterministic) and verifiers' caches keep working."""
    listed = session.get(StatusList, list_id)
    if listed is None:
        return None
    identity = _list_signer(session, settings, listed)
    unsigned = status_list.status_list_credential(
        list_url=settings.status_list_url(listed.id),
        issuer=identity.did,
        bits=listed.bits,
        valid_from=listed.updated_at,
    )
    return signing.sign_credential(
        unsigned, identity.private_key, identity.verification_method, created=listed.updated_at
    )


def _list_signer(session: Session, settings: IssuerSettings, listed: StatusList) -> SigningIdentity:
    """A list is signed by the issuer of its credentials (verifiers check they are the same)."""
    if listed.issuer_profile_id is None:
        return signing_identity(session, settings)
    profile = settings.profiles.by_id(session, listed.issuer_profile_id)
    assert profile is not None  # a foreign key
    return profile_identity(session, settings, profile).signing


def _allocate(session: Session, profile_id: int) -> tuple[StatusList, int]:
    """A random free index in one of the profile's revocation lists with room (a new list when
    all are half full)."""
    used_counts = (
        select(Credential.status_list_id, func.count().label("used"))
        .group_by(Credential.status_list_id)
        .subquery()
    )
    candidate = session.execute(
        select(StatusList, func.coalesce(used_counts.c.used, 0))
        .outerjoin(used_counts, used_counts.c.status_list_id == StatusList.id)
        .where(
            StatusList.purpose == status_list.REVOCATION,
            StatusList.issuer_profile_id == profile_id,
        )
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
        issuer_profile_id=profile_id,
    )
    session.add(listed)
    session.flush()
    return listed, status_list.allocate_index(set(), listed.size)


def _badge_words(document: dict[str, Any], issuer_name: str | None = None) -> tuple[str, str, str]:
    """Framework title, level and issuer name of a credential this tool issued."""
    described = facts.describe(document)
    achievement = described["achievement"]
    return (
        achievement["framework"] or achievement["name"] or "Competency framework",
        achievement["level"] or "Level achieved",
        issuer_name or described["issuer"]["name"] or "Unknown issuer",
    )


def level_badge(session: Session, settings: IssuerSettings, slug: str, level_id: int) -> str | None:
    """The badge picture (SVG) of a level as the profile `slug` awards it, drawn from its newest
    credential of that level; None when the profile never issued one."""
    profile = settings.profiles.by_slug(session, slug)
    if profile is None:
        return None
    document = session.scalar(
        select(Credential.document)
        .join(StatusList, StatusList.id == Credential.status_list_id)
        .where(Credential.level_id == level_id, StatusList.issuer_profile_id == profile.id)
        .order_by(Credential.issued_at.desc())
        .limit(1)
    )
    if document is None:
        return None
    return badge_image.render(*_badge_words(json.loads(document), profile.name))


def baked_badge(credential: Credential) -> str:
    """The level's badge with this credential (its exact stored JSON) baked in."""
    return badge_image.bake(
        badge_image.render(*_badge_words(json.loads(credential.document))), credential.document
    )
