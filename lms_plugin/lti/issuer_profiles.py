"""Issuer profiles: the institution that credentials of a platform (or of one of its deployments)
name as their issuer. The operator sets them (`lms-plugin platform issuer`); a platform without one
gets a default named after it the first time it issues, so issuance never waits for the operator.
`ProfileDirectory` hands them to the credentials package, which never reads these models itself.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.credentials.issuance import IssuerProfileInfo
from lms_plugin.credentials.models import Credential
from lms_plugin.keys import ToolKey
from lms_plugin.lti.models import Course, Deployment, IssuerProfile, Platform, ResourceLink
from lms_plugin.orm import utcnow

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
SLUG_STEM_LENGTH = 56  # leaves room for a "-<n>" suffix within 64 characters
MAX_ATTEMPTS = 5


class IssuerProfileError(ValueError):
    """A profile that cannot be set as asked; the message is for the operator."""


def slugify(name: str) -> str:
    """A did:web path segment from a name: `Riverside College` -> `riverside-college`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_STEM_LENGTH].strip("-") or "issuer"


def unique_slug(session: Session, name: str) -> str:
    """`slugify(name)`, with `-2`, `-3`, ... when a profile has it already."""
    stem = slugify(name)
    taken = set(
        session.scalars(
            select(IssuerProfile.slug).where(
                (IssuerProfile.slug == stem) | IssuerProfile.slug.like(f"{stem}-%")
            )
        )
    )
    if stem not in taken:
        return stem
    suffix = 2
    while f"{stem}-{suffix}" in taken:
        suffix += 1
    return f"{stem}-{suffix}"


def default_name(platform: Platform) -> str:
    """The platform's name, else its issuer's host."""
    return platform.name.strip() or urlsplit(platform.issuer).hostname or platform.issuer


def platform_profile(session: Session, platform_id: int) -> IssuerProfile | None:
    """The profile of every deployment of a platform that has none of its own."""
    return session.scalar(
        select(IssuerProfile).where(
            IssuerProfile.platform_id == platform_id, IssuerProfile.deployment_id.is_(None)
        )
    )


def deployment_profile(session: Session, deployment_id: int) -> IssuerProfile | None:
    return session.scalar(select(IssuerProfile).where(IssuerProfile.deployment_id == deployment_id))


def profile_for_course(session: Session, course: Course) -> IssuerProfile:
    """The deployment's profile, else the platform's, else the platform's default (created now,
    in the caller's transaction). Flushes."""
    if course.deployment_id is not None:
        found = deployment_profile(session, course.deployment_id)
        if found is not None:
            return found
    return platform_profile(session, course.platform_id) or _create_default(
        session, course.platform_id
    )


def _create_default(session: Session, platform_id: int) -> IssuerProfile:
    """Two workers may need a platform's default at once: the insert does nothing when another
    transaction made it (or took the slug), and the winner's row is read back."""
    platform = session.get(Platform, platform_id)
    assert platform is not None  # a foreign key
    name = default_name(platform)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for _ in range(MAX_ATTEMPTS):
        session.execute(
            insert(IssuerProfile)
            .values(
                platform_id=platform.id,
                deployment_id=None,
                name=name,
                slug=unique_slug(session, name),
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        found = platform_profile(session, platform.id)
        if found is not None:
            return found
    raise IssuerProfileError(f"no free issuer profile slug for {name!r}; try again")


def find_scope(
    session: Session, issuer: str, client_id: str | None, deployment_id: str | None
) -> tuple[Platform, Deployment | None]:
    """The platform (and deployment) an operator names; raises `IssuerProfileError` saying why
    none (or several) match."""
    query = select(Platform).where(Platform.issuer == issuer)
    if client_id is not None:
        query = query.where(Platform.client_id == client_id)
    platforms = session.scalars(query.order_by(Platform.id)).all()
    if not platforms:
        client = f" and client id {client_id}" if client_id is not None else ""
        raise IssuerProfileError(f"no platform with issuer {issuer}{client}")
    if len(platforms) > 1:
        raise IssuerProfileError(
            f"several platforms have issuer {issuer} (one per institution): add --client-id"
        )
    [platform] = platforms
    if deployment_id is None:
        return platform, None
    deployment = session.scalar(
        select(Deployment).where(
            Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
        )
    )
    if deployment is None:
        raise IssuerProfileError(f"no deployment {deployment_id} on platform {issuer}")
    return platform, deployment


def set_profile(
    session: Session,
    platform: Platform,
    deployment: Deployment | None,
    *,
    name: str,
    url: str | None = None,
    slug: str | None = None,
) -> IssuerProfile:
    """Create or update the profile of a platform (or of one deployment). A new name or URL shows
    in credentials issued from now on; the slug (the DID) changes only while no credential names
    it. Flushes."""
    name = name.strip()
    if not name or len(name) > 255:
        raise IssuerProfileError("the issuer name must be 1 to 255 characters")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or len(url) > 2048:
            raise IssuerProfileError(f"{url!r} is not an absolute http(s) URL")
    if slug is not None and not SLUG.fullmatch(slug):
        raise IssuerProfileError(
            "the slug must be 1 to 64 lower-case letters, digits and inner hyphens"
        )
    if deployment is not None:
        profile = deployment_profile(session, deployment.id)
    else:
        profile = platform_profile(session, platform.id)
    if slug is not None and (profile is None or profile.slug != slug):
        other = session.scalar(select(IssuerProfile).where(IssuerProfile.slug == slug))
        if other is not None:
            raise IssuerProfileError(f"the slug {slug!r} is another profile's")
        if profile is not None and _has_issued(session, profile):
            raise IssuerProfileError(
                f"credentials already name {profile.slug!r}: its slug (their DID) cannot change"
            )
    if profile is None:
        profile = IssuerProfile(
            platform_id=platform.id,
            deployment_id=deployment.id if deployment else None,
            slug=slug or unique_slug(session, name),
        )
        session.add(profile)
    elif slug is not None:
        profile.slug = slug
    profile.name, profile.url = name, url
    session.flush()
    return profile


def _has_issued(session: Session, profile: IssuerProfile) -> bool:
    query = (
        select(Credential.id)
        .join(ToolKey, ToolKey.id == Credential.key_id)
        .where(ToolKey.issuer_profile_id == profile.id)
        .limit(1)
    )
    return session.scalar(query) is not None


def summary(session: Session, platform: Platform) -> dict[str, str | None]:
    """The platform-wide profile for `platform list`: `slug` None while it is still the default
    that the first credential will create."""
    profile = platform_profile(session, platform.id)
    if profile is None:
        return {"name": default_name(platform), "url": None, "slug": None}
    return {"name": profile.name, "url": profile.url, "slug": profile.slug}


def slugs(session: Session) -> dict[int, str]:
    """Every profile's slug by id."""
    return {
        row.id: row.slug for row in session.execute(select(IssuerProfile.id, IssuerProfile.slug))
    }


def info(profile: IssuerProfile) -> IssuerProfileInfo:
    return IssuerProfileInfo(id=profile.id, slug=profile.slug, name=profile.name, url=profile.url)


class ProfileDirectory:
    """The `IssuerDirectory` the credentials package is given."""

    def for_resource_link(self, session: Session, resource_link_id: int) -> IssuerProfileInfo:
        link = session.get(ResourceLink, resource_link_id)
        assert link is not None  # a foreign key
        course = session.get(Course, link.course_id)
        assert course is not None
        return info(profile_for_course(session, course))

    def by_id(self, session: Session, profile_id: int) -> IssuerProfileInfo | None:
        profile = session.get(IssuerProfile, profile_id)
        return info(profile) if profile else None

    def by_slug(self, session: Session, slug: str) -> IssuerProfileInfo | None:
        profile = session.scalar(select(IssuerProfile).where(IssuerProfile.slug == slug))
        return info(profile) if profile else None
