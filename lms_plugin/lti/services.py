"""What a validated launch changes: the course, resource link, person and enrollment it names, the
placement it carries, and the launch context later requests act under."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache, partial
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.frameworks.models import FrameworkVersion, Level
from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Enrollment, Person, ResourceLink
from lms_plugin.lti.state_store import StateStore
from lms_plugin.orm import MAX_ID, Base, utcnow

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


class RecordedPlatform(Protocol):
    """What recording a launch needs of its platform (a `Platform` row or a cached copy)."""

    id: int
    issuer: str


def record_launch(
    session: Session,
    platform: RecordedPlatform,
    deployment_id: int,
    body: Mapping[str, Any],
    level_keys: Callable[[int], list[str] | None] | None = None,
) -> LaunchContext:
    """Create or update the course, person, enrollment and resource link a validated launch names
    (`INSERT ... ON CONFLICT`, nothing read first: one statement on PostgreSQL, one per table on
    SQLite) and return its context (not yet saved). `deployment_id` is the deployment's row id;
    `level_keys` gives a framework version's level keys, or None if there is no such version
    (default: read them). Bad custom placement parameters are reported in `placement_problem`,
    not raised: the launch itself is fine."""
    context_claim = body.get(claims.CONTEXT)
    if not isinstance(context_claim, Mapping) or not _text(context_claim.get("id")):
        raise ValueError("the launch names no course (context claim)")
    sub = _text(body.get("sub"))
    if not sub:
        raise ValueError("no user id")
    roles = [r for r in body.get(claims.ROLES, []) if isinstance(r, str)]
    message_type = body[claims.MESSAGE_TYPE]
    ags = body.get(claims.AGS_ENDPOINT)
    nrps = body.get(claims.NRPS)
    presentation = body.get(claims.LAUNCH_PRESENTATION)
    launch = LaunchContext(
        launch_id=secrets.token_urlsafe(24),
        platform_id=platform.id,
        deployment_id=deployment_id,
        course_id=0,
        person_id=0,
        staff=claims.is_staff(roles),
        message_type=message_type,
        ags=dict(ags) if isinstance(ags, Mapping) else None,
        nrps_url=_text(nrps.get("context_memberships_url")) if isinstance(nrps, Mapping) else None,
        return_url=_text(presentation.get("return_url"))
        if isinstance(presentation, Mapping)
        else None,
        locale=_text(presentation.get("locale")) if isinstance(presentation, Mapping) else None,
        roles=roles,
    )
    course = {
        "platform_id": platform.id,
        "context_id": str(context_claim["id"])[:255],
        "deployment_id": deployment_id,
        "title": (_text(context_claim.get("title")) or "")[:500],
        "label": (_text(context_claim.get("label")) or "")[:255],
    }
    person = person_values(platform.issuer, sub, body)
    link: dict[str, Any] | None = None
    if message_type == claims.DEEP_LINKING_REQUEST:
        launch.deep_linking = dict(body[claims.DEEP_LINKING_SETTINGS])
    else:
        link_claim = body[claims.RESOURCE_LINK]
        link = {
            "resource_link_id": str(link_claim["id"])[:255],
            "title": (_text(link_claim.get("title")) or "")[:500],
            "line_item_url": _text(launch.ags.get("lineitem")) if launch.ags else None,
            "line_items_url": _text(launch.ags.get("lineitems")) if launch.ags else None,
        }
        custom = body.get(claims.CUSTOM)
        if isinstance(custom, Mapping) and _text(custom.get("framework")):
            try:
                version_id = _version_id(str(custom["framework"]))
                known = (level_keys or partial(framework_level_keys, session))(version_id)
                if known is None:
                    raise PlacementError(f"there is no framework version {version_id}")
                levels = _levels_in_scope(version_id, known, _text(custom.get("levels")))
            except PlacementError as error:
                launch.placement_problem = str(error)
            else:
                link.update(framework_version_id=version_id, level_keys=levels)
    write = _write_launch_postgresql if _dialect(session) == "postgresql" else _write_launch
    launch.course_id, launch.person_id, launch.resource_link_id = write(
        session, course, person, roles, link
    )
    return launch


COURSE_UPSERT = {
    "conflict": ("platform_id", "context_id"),
    "replace": ("deployment_id",),
    "unless_empty": ("title", "label"),
}
PERSON_UPSERT = {
    "conflict": ("issuer", "sub"),
    "unless_empty": ("name", "given_name", "family_name", "email"),
}
ENROLLMENT_UPSERT = {
    "conflict": ("course_id", "person_id"),
    "replace": ("roles", "is_staff", "source", "updated_at"),
}
PLACEMENT = ("framework_version_id", "level_keys")
CTE_NAMES = {
    "courses": "course",
    "people": "person",
    "enrollments": "enrolled",
    "resource_links": "link",
}
LINK_UPSERT = {
    "conflict": ("course_id", "resource_link_id"),
    "unless_empty": ("title", "line_item_url", "line_items_url"),
}


def _write_launch(
    session: Session,
    course: dict[str, Any],
    person: dict[str, Any],
    roles: list[str],
    link: dict[str, Any] | None,
) -> tuple[int, int, int | None]:
    """The launch's rows, one upsert per table; returns the course, person and link ids."""
    [written] = _upsert(session, Course, course, **COURSE_UPSERT)  # type: ignore[arg-type]
    course_id = written.id
    person_id = upsert_people(session, [person])[person["sub"]]
    upsert_enrollments(session, course_id, [(person_id, roles)], "launch")
    if link is None:
        return course_id, person_id, None
    placed = PLACEMENT if "framework_version_id" in link else ()
    [stored] = _upsert(
        session,
        ResourceLink,
        {**link, "course_id": course_id},
        replace=placed,
        **LINK_UPSERT,  # type: ignore[arg-type]
    )
    return course_id, person_id, stored.id


def _write_launch_postgresql(
    session: Session,
    course: dict[str, Any],
    person: dict[str, Any],
    roles: list[str],
    link: dict[str, Any] | None,
) -> tuple[int, int, int | None]:
    """`_write_launch` as one statement (data-modifying CTEs, each upsert reading the course and
    person ids from the others' RETURNING). The launch's commit does not wait for the WAL to
    reach the disk (`synchronous_commit` off for this transaction): what a launch writes, the
    next one writes again, so a crash of the server may lose the last fraction of a second of
    launches, never consistency (as SQLite's synchronous=NORMAL here)."""
    now = utcnow()
    written = _upsert_cte(Course, {**course, "created_at": now}, **COURSE_UPSERT)
    who = _upsert_cte(Person, {**person, "created_at": now}, **PERSON_UPSERT)
    course_id = select(written.c.id).scalar_subquery()
    person_id = select(who.c.id).scalar_subquery()
    enrolled = {
        "course_id": course_id,
        "person_id": person_id,
        "roles": roles,
        "is_staff": claims.is_staff(roles),
        "source": "launch",
        "updated_at": now,
    }
    enrollment = _upsert_cte(Enrollment, enrolled, **ENROLLMENT_UPSERT)
    columns = [course_id, person_id]
    if link is not None:
        placed = PLACEMENT if "framework_version_id" in link else ()
        values = {**link, "course_id": course_id, "created_at": now}
        stored = _upsert_cte(ResourceLink, values, replace=placed, **LINK_UPSERT)
        columns.append(select(stored.c.id).scalar_subquery())
    asynchronous = func.set_config("synchronous_commit", "off", True)
    row = session.execute(select(*columns, asynchronous).add_cte(enrollment)).one()
    return row[0], row[1], row[2] if link is not None else None


def _upsert_cte(
    model: type[Base],
    values: Mapping[str, Any],
    conflict: tuple[str, ...],
    replace: tuple[str, ...] = (),
    unless_empty: tuple[str, ...] = (),
) -> Any:
    """An upsert of one row as a CTE returning its `id` (PostgreSQL). Columns' scalar defaults
    are filled in here: SQLAlchemy leaves some out of an INSERT inside a CTE."""
    table = model.__table__
    row = {
        column.name: column.default.arg
        for column in table.c
        if column.default is not None and column.default.is_scalar
    }
    statement = postgresql.insert(table).values({**row, **values})
    return (
        statement.on_conflict_do_update(
            index_elements=list(conflict),
            set_=_changes(table, statement.excluded, replace, unless_empty),
        )
        .returning(table.c.id)
        .cte(CTE_NAMES[table.name])
    )


def _changes(
    table: Any, new: Any, replace: tuple[str, ...], unless_empty: tuple[str, ...]
) -> dict[str, Any]:
    """An upsert's SET: `replace` columns take the new value, `unless_empty` ones only a
    non-empty one."""
    changes = {name: new[name] for name in replace}
    for name in unless_empty:
        changes[name] = func.coalesce(func.nullif(new[name], ""), table.c[name])
    return changes


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def person_values(issuer: str, sub: str, member: Mapping[str, Any]) -> dict[str, Any]:
    """A `people` row from a launch body or an NRPS member: names and email as given ('' or
    None when absent, which `upsert_people` leaves as stored)."""
    given = _text(member.get("given_name"))
    family = _text(member.get("family_name"))
    name = _text(member.get("name")) or " ".join(p for p in (given, family) if p)
    email = _text(member.get("email"))
    return {
        "issuer": issuer,
        "sub": sub[:255],
        "name": (name or "")[:500],
        "given_name": (given or "")[:255],
        "family_name": (family or "")[:255],
        "email": email[:320] if email else None,
    }


def upsert_people(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Add or refresh people (`person_values` rows of one issuer, distinct subs) in one
    statement; names and email given replace the stored ones. Returns their ids by `sub`."""
    returned = _upsert(
        session,
        Person,
        rows,
        returning=("sub", "id"),
        **PERSON_UPSERT,  # type: ignore[arg-type]
    )
    return dict(returned)


def upsert_enrollments(
    session: Session,
    course_id: int,
    members: Sequence[tuple[int, Sequence[str]]],
    source: str,
) -> None:
    """Set the course roles of people (`(person_id, roles)`, distinct ids) in one statement. A
    roster (`source="nrps"`) never demotes someone whose own launch showed them as staff."""
    now = utcnow()
    rows = [
        {
            "course_id": course_id,
            "person_id": person_id,
            "roles": list(roles),
            "is_staff": claims.is_staff(roles),
            "source": source,
            "updated_at": now,
        }
        for person_id, roles in members
    ]
    _upsert(
        session,
        Enrollment,
        rows,
        keep_launched_staff=source != "launch",
        **ENROLLMENT_UPSERT,  # type: ignore[arg-type]
    )


def _upsert(
    session: Session,
    model: type[Base],
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    conflict: tuple[str, ...],
    *,
    replace: tuple[str, ...] = (),
    unless_empty: tuple[str, ...] = (),
    keep_launched_staff: bool = False,
    returning: tuple[str, ...] = ("id",),
) -> Sequence[Any]:
    """`INSERT ... ON CONFLICT (conflict) DO UPDATE` of one row or of many (one statement per
    page of insertmanyvalues); returns the `returning` columns of every row written."""
    statement = _upsert_statement(
        _dialect(session),
        model.__tablename__,
        conflict,
        replace,
        unless_empty,
        keep_launched_staff,
        returning,
    )
    if isinstance(rows, Mapping):
        return [session.execute(statement, dict(rows)).one()]
    if len(rows) == 1:
        return [session.execute(statement, dict(rows[0])).one()]
    return session.execute(statement, [dict(row) for row in rows]).all() if rows else []


@cache
def _upsert_statement(
    dialect: str,
    table_name: str,
    conflict: tuple[str, ...],
    replace: tuple[str, ...],
    unless_empty: tuple[str, ...],
    keep_launched_staff: bool,
    returning: tuple[str, ...],
) -> Any:
    """The statement of `_upsert`, built once: columns in `replace` take the new value, those in
    `unless_empty` only a non-empty one; with `keep_launched_staff`, an enrollment made staff by
    a launch is left alone."""
    table = Base.metadata.tables[table_name]
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    changes = _changes(table, statement.excluded, replace, unless_empty)
    where = None
    if keep_launched_staff:
        where = ~(table.c.is_staff & (table.c.source == "launch"))
    return statement.on_conflict_do_update(
        index_elements=list(conflict), set_=changes, where=where
    ).returning(*(table.c[name] for name in returning))


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


def parse_placement(
    session: Session, framework: str, levels: str | None
) -> tuple[FrameworkVersion, list[str] | None]:
    """Check custom `framework` (a version id) and `levels` (comma-separated keys, absent = all)."""
    version_id = _version_id(framework)
    version = session.get(FrameworkVersion, version_id)
    if version is None:
        raise PlacementError(f"there is no framework version {version_id}")
    return version, _levels_in_scope(version_id, [level.key for level in version.levels], levels)


def framework_level_keys(session: Session, version_id: int) -> list[str] | None:
    """A framework version's level keys in order, or None if there is no such version."""
    rows = session.execute(
        select(Level.key)
        .select_from(FrameworkVersion)
        .outerjoin(Level, Level.version_id == FrameworkVersion.id)
        .where(FrameworkVersion.id == version_id)
        .order_by(Level.position)
    ).all()
    return [key for (key,) in rows if key is not None] if rows else None


def _version_id(framework: str) -> int:
    try:
        version_id = int(framework.strip())
    except ValueError:
        version_id = 0
    if not 1 <= version_id <= MAX_ID:
        raise PlacementError(f"custom parameter framework={framework[:50]!r} is not an id")
    return version_id


def _levels_in_scope(version_id: int, known: list[str], levels: str | None) -> list[str] | None:
    if not levels or not levels.strip():
        return None
    keys = [key.strip() for key in levels.split(",") if key.strip()]
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise PlacementError(f"levels {', '.join(unknown)} are not in framework {version_id}")
    return [key for key in known if key in keys]


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
