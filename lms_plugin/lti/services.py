"""What a validated launch changes: the course, resource link, person and enrollment it names, the
placement it carries, and the launch context later requests act under."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Deployment, Enrollment, Person, Platform, ResourceLink
from lms_plugin.lti.state_store import StateStore
from lms_plugin.orm import MAX_ID, utcnow

LAUNCH_LIFETIME_SECONDS = 8 * 3600


class PlacementError(ValueError):
    """Custom parameters name no usable framework version or levels."""


@dataclass
class LaunchContext:
    """Who launched, where, and what the launch allows; kept server-side under `launch_id`."""

    launch_id: str
    platform_id: int
    deployment_id: int
    course_id: int
    person_id: int
    staff: bool
    message_type: str
    resource_link_id: int | None = None
    deep_linking: dict[str, Any] | None = None
    ags: dict[str, Any] | None = None
    nrps_url: str | None = None
    return_url: str | None = None
    roles: list[str] = field(default_factory=list)
    placement_problem: str | None = None
    cookieless: bool = False
    locale: str | None = None  # launch_presentation.locale: the platform's language for dates

    def save(self, store: StateStore) -> None:
        store.insert(f"launch:{self.launch_id}", asdict(self), LAUNCH_LIFETIME_SECONDS)

    @classmethod
    def load(cls, store: StateStore, launch_id: str) -> LaunchContext | None:
        data = store.get(f"launch:{launch_id}")
        return cls(**data) if isinstance(data, dict) else None


def record_launch(
    session: Session, platform: Platform, deployment: Deployment, body: Mapping[str, Any]
) -> LaunchContext:
    """Create or update the course, person, enrollment and resource link a validated launch names
    and return its context (not yet saved). Bad custom placement parameters are reported in
    `placement_problem`, not raised: the launch itself is fine. Flushes."""
    context_claim = body.get(claims.CONTEXT)
    if not isinstance(context_claim, Mapping) or not _text(context_claim.get("id")):
        raise ValueError("the launch names no course (context claim)")
    roles = [r for r in body.get(claims.ROLES, []) if isinstance(r, str)]
    staff = claims.is_staff(roles)
    course = upsert_course(session, platform, deployment, context_claim)
    person = upsert_person(session, platform.issuer, body)
    upsert_enrollment(session, course, person, roles, source="launch")

    message_type = body[claims.MESSAGE_TYPE]
    ags = body.get(claims.AGS_ENDPOINT)
    nrps = body.get(claims.NRPS)
    presentation = body.get(claims.LAUNCH_PRESENTATION)
    launch = LaunchContext(
        launch_id=secrets.token_urlsafe(24),
        platform_id=platform.id,
        deployment_id=deployment.id,
        course_id=course.id,
        person_id=person.id,
        staff=staff,
        message_type=message_type,
        ags=dict(ags) if isinstance(ags, Mapping) else None,
        nrps_url=_text(nrps.get("context_memberships_url")) if isinstance(nrps, Mapping) else None,
        return_url=_text(presentation.get("return_url"))
        if isinstance(presentation, Mapping)
        else None,
        locale=_text(presentation.get("locale")) if isinstance(presentation, Mapping) else None,
        roles=roles,
    )
    if message_type == claims.DEEP_LINKING_REQUEST:
        launch.deep_linking = dict(body[claims.DEEP_LINKING_SETTINGS])
        return launch
    link_claim = body[claims.RESOURCE_LINK]
    link = upsert_resource_link(session, course, link_claim)
    launch.resource_link_id = link.id
    if launch.ags:
        link.line_item_url = _text(launch.ags.get("lineitem")) or link.line_item_url
        link.line_items_url = _text(launch.ags.get("lineitems")) or link.line_items_url
    custom = body.get(claims.CUSTOM)
    if isinstance(custom, Mapping) and _text(custom.get("framework")):
        try:
            version, levels = parse_placement(
                session, str(custom["framework"]), _text(custom.get("levels"))
            )
        except PlacementError as error:
            launch.placement_problem = str(error)
        else:
            link.framework_version_id, link.level_keys = version.id, levels
    session.flush()
    return launch


def upsert_course(
    session: Session, platform: Platform, deployment: Deployment, claim: Mapping[str, Any]
) -> Course:
    context_id = str(claim["id"])[:255]
    course = session.scalar(
        select(Course).where(Course.platform_id == platform.id, Course.context_id == context_id)
    )
    if course is None:
        course = Course(platform_id=platform.id, context_id=context_id)
        session.add(course)
    course.deployment_id = deployment.id
    course.title = (_text(claim.get("title")) or course.title or "")[:500]
    course.label = (_text(claim.get("label")) or course.label or "")[:255]
    session.flush()
    return course


def upsert_person(session: Session, issuer: str, member: Mapping[str, Any]) -> Person:
    """A person from a launch body or an NRPS member (`sub` or `user_id`), names refreshed."""
    sub = _text(member.get("sub")) or _text(member.get("user_id"))
    if not sub:
        raise ValueError("no user id")
    person = session.scalar(select(Person).where(Person.issuer == issuer, Person.sub == sub))
    if person is None:
        person = Person(issuer=issuer, sub=sub[:255])
        session.add(person)
    refresh_person(person, member)
    session.flush()
    return person


def refresh_person(person: Person, member: Mapping[str, Any]) -> None:
    """Copy the names and email a launch body or an NRPS member gives onto `person`."""
    given = _text(member.get("given_name"))
    family = _text(member.get("family_name"))
    name = _text(member.get("name")) or " ".join(p for p in (given, family) if p)
    if name:
        person.name = name[:500]
    if given:
        person.given_name = given[:255]
    if family:
        person.family_name = family[:255]
    email = _text(member.get("email"))
    if email:
        person.email = email[:320]


def upsert_enrollment(
    session: Session, course: Course, person: Person, roles: Sequence[str], source: str
) -> Enrollment:
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.course_id == course.id, Enrollment.person_id == person.id
        )
    )
    if enrollment is None:
        enrollment = Enrollment(course_id=course.id, person_id=person.id, source=source)
        session.add(enrollment)
    enrollment.roles = list(roles)
    enrollment.is_staff = claims.is_staff(roles)
    enrollment.source = source
    enrollment.updated_at = utcnow()
    return enrollment


def upsert_resource_link(
    session: Session, course: Course, claim: Mapping[str, Any]
) -> ResourceLink:
    link_id = str(claim["id"])[:255]
    link = session.scalar(
        select(ResourceLink).where(
            ResourceLink.course_id == course.id, ResourceLink.resource_link_id == link_id
        )
    )
    if link is None:
        link = ResourceLink(course_id=course.id, resource_link_id=link_id)
        session.add(link)
    title = _text(claim.get("title"))
    if title:
        link.title = title[:500]
    session.flush()
    return link


def parse_placement(
    session: Session, framework: str, levels: str | None
) -> tuple[FrameworkVersion, list[str] | None]:
    """Check custom `framework` (a version id) and `levels` (comma-separated keys, absent = all)."""
    try:
        version_id = int(framework.strip())
    except ValueError:
        version_id = 0
    if not 1 <= version_id <= MAX_ID:
        raise PlacementError(f"custom parameter framework={framework[:50]!r} is not an id")
    version = session.get(FrameworkVersion, version_id)
    if version is None:
        raise PlacementError(f"there is no framework version {version_id}")
    if not levels or not levels.strip():
        return version, None
    keys = [key.strip() for key in levels.split(",") if key.strip()]
    known = [level.key for level in version.levels]
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise PlacementError(f"levels {', '.join(unknown)} are not in framework {version_id}")
    return version, [key for key in known if key in keys]


def set_placement(
    session: Session, link: ResourceLink, version: FrameworkVersion, levels: list[str] | None
) -> None:
    link.framework_version_id = version.id
    link.level_keys = levels
    session.flush()


def _text(value: Any) -> str | None:
    """A claim's text, stripped; lone surrogates (valid JSON escapes, not storable as UTF-8)
    become U+FFFD."""
    if not isinstance(value, str):
        return None
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").strip() or None
