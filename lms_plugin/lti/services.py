"""What a validated launch changes: the course, resource link, person and enrollment it names, the
placement it carries, and the launch context later requests act under."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache, partial
from typing import Any, Protocol

from sqlalchemy import Connection, Text, bindparam, func, literal, literal_column, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.frameworks.models import FrameworkVersion, Level
from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Enrollment, Person, ResourceLink
from lms_plugin.lti.state_store import STATE, StateStore, insert_state, take_as
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

    @property
    def key(self) -> str:
        """Its key in the state store."""
        return f"launch:{self.launch_id}"

    def to_json(self, without: tuple[str, ...] = ()) -> str:
        """Its fields as a JSON object (but those named in `without`), as stored."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in without}
        return json.dumps(data, separators=(",", ":"))

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
    nonce_key: str | None,
    level_keys: Callable[[int], list[str] | None] | None = None,
    cookieless: bool = False,
) -> LaunchContext:
    """Spend the launch's nonce (`nonce_key`, where its login stored it; None if spent already),
    create or update the course, person, enrollment and resource link a validated launch names
    (`INSERT ... ON CONFLICT`, nothing read first) and save the launch's context: one statement
    on PostgreSQL, one per table on SQLite. A nonce that is unknown, expired or already used
    raises `NonceRefused`; what was written is then to be rolled back (PostgreSQL wrote nothing).
    `deployment_id` is the deployment's row id; `level_keys` gives a framework version's level
    keys, or None if there is no such version (default: read them). Bad custom placement
    parameters are reported in `placement_problem`, not raised: the launch itself is fine."""
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
        cookieless=cookieless,
    )
    now = utcnow()
    rows = LaunchRows(
        course={
            "platform_id": platform.id,
            "context_id": str(context_claim["id"])[:255],
            "deployment_id": deployment_id,
            "title": (_text(context_claim.get("title")) or "")[:500],
            "label": (_text(context_claim.get("label")) or "")[:255],
            "created_at": now,
        },
        person={**person_values(platform.issuer, sub, body), "created_at": now},
        enrollment={
            "roles": roles,
            "is_staff": launch.staff,
            "source": "launch",
            "updated_at": now,
        },
    )
    if message_type == claims.DEEP_LINKING_REQUEST:
        launch.deep_linking = dict(body[claims.DEEP_LINKING_SETTINGS])
    else:
        link_claim = body[claims.RESOURCE_LINK]
        rows.link = {
            "resource_link_id": str(link_claim["id"])[:255],
            "title": (_text(link_claim.get("title")) or "")[:500],
            "line_item_url": _text(launch.ags.get("lineitem")) if launch.ags else None,
            "line_items_url": _text(launch.ags.get("lineitems")) if launch.ags else None,
            "created_at": now,
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
                rows.link.update(framework_version_id=version_id, level_keys=levels)
    # Statements built once, run on the session's connection (nothing is pending in the session
    # here): building a statement, or an ORM execute, costs more than SQLite takes to run it.
    if session.get_bind().dialect.name != "postgresql":
        _write_launch(session.connection(), rows, nonce_key, launch)
    elif session.in_transaction():
        _write_launch_postgresql(session.connection(), rows, nonce_key, launch)
    else:
        # The request's first statement: atomic on its own, it needs no BEGIN or COMMIT (two
        # round trips). What the request writes afterwards is committed statement by statement.
        autocommit = {"isolation_level": "AUTOCOMMIT"}
        _write_launch_postgresql(
            session.connection(execution_options=autocommit), rows, nonce_key, launch
        )
    return launch


class NonceRefused(ValueError):
    """The launch's nonce is unknown, expired or already used."""

    def __init__(self) -> None:
        super().__init__("its nonce is unknown, expired or already used")


@dataclass(frozen=True)
class Upsert:
    """How rows of a table are upserted: on a conflict on `conflict`, columns in `replace` take
    the new value, those in `unless_empty` only a non-empty one."""

    conflict: tuple[str, ...]
    replace: tuple[str, ...] = ()
    unless_empty: tuple[str, ...] = ()


COURSE_UPSERT = Upsert(("platform_id", "context_id"), ("deployment_id",), ("title", "label"))
PERSON_UPSERT = Upsert(("issuer", "sub"), (), ("name", "given_name", "family_name", "email"))
ENROLLMENT_UPSERT = Upsert(
    ("course_id", "person_id"), ("roles", "is_staff", "source", "updated_at")
)
LINK_UPSERT = Upsert(
    ("course_id", "resource_link_id"), (), ("title", "line_item_url", "line_items_url")
)
PLACED_LINK_UPSERT = replace(LINK_UPSERT, replace=("framework_version_id", "level_keys"))
LAUNCH_IDS = ("course_id", "person_id", "resource_link_id")
# The ids a launch's row takes from the rows written before it, and the id it gives.
TAKES = {"enrolled": ("course_id", "person_id"), "link": ("course_id",)}
GIVES = {"course": "course_id", "person": "person_id", "link": "resource_link_id"}


@dataclass
class LaunchRows:
    """The rows a launch writes, each without the ids it takes from the others (`TAKES`); no
    link for deep linking."""

    course: dict[str, Any]
    person: dict[str, Any]
    enrollment: dict[str, Any]
    link: dict[str, Any] | None = None

    def upserts(self) -> list[tuple[str, type[Base], Upsert, dict[str, Any]]]:
        """(name, model, upsert, values) of each row, in the order they are written."""
        written: list[tuple[str, type[Base], Upsert, dict[str, Any]]] = [
            ("course", Course, COURSE_UPSERT, self.course),
            ("person", Person, PERSON_UPSERT, self.person),
            ("enrolled", Enrollment, ENROLLMENT_UPSERT, self.enrollment),
        ]
        if self.link is not None:
            placed = "framework_version_id" in self.link
            upsert = PLACED_LINK_UPSERT if placed else LINK_UPSERT
            written.append(("link", ResourceLink, upsert, self.link))
        return written


def _write_launch(
    connection: Connection, rows: LaunchRows, nonce_key: str | None, launch: LaunchContext
) -> None:
    """The launch's rows, one upsert per table, then its context in the nonce's row (SQLite)."""
    ids: dict[str, int] = {}
    for name, model, upsert, values in rows.upserts():
        statement = _upsert_statement("sqlite", model.__tablename__, upsert)
        taken = {key: ids[key] for key in TAKES.get(name, ())}
        written = connection.execute(statement, {**values, **taken}).scalar_one()
        if name in GIVES:
            ids[GIVES[name]] = written
    launch.course_id, launch.person_id = ids["course_id"], ids["person_id"]
    launch.resource_link_id = ids.get("resource_link_id")
    context, lifetime = launch.to_json(), LAUNCH_LIFETIME_SECONDS
    if nonce_key is None:
        insert_state(connection, launch.key, context, lifetime)
    elif not take_as(connection, nonce_key, launch.key, context, lifetime):
        raise NonceRefused()


def _write_launch_postgresql(
    connection: Connection, rows: LaunchRows, nonce_key: str | None, launch: LaunchContext
) -> None:
    """`_write_launch` as one statement (`_launch_statement`). The launch's commit does not wait
    for the WAL to reach the disk (`synchronous_commit` off for this transaction): what a launch
    writes, the next one writes again, so a crash of the server may lose the last fraction of a
    second of launches, never consistency (as SQLite's synchronous=NORMAL here)."""
    upserts = rows.upserts()
    shape = tuple((name, model, upsert, tuple(values)) for name, model, upsert, values in upserts)
    params = {
        f"{name}_{key}": value for name, _, _, values in upserts for key, value in values.items()
    }
    now = utcnow()
    params.update(
        nonce_key=nonce_key,
        nonce_now=now,
        launch_key=launch.key,
        # Without its closing brace: the statement adds the ids, then closes the object.
        launch_context=launch.to_json(without=LAUNCH_IDS)[:-1],
        launch_expires=now + dt.timedelta(seconds=LAUNCH_LIFETIME_SECONDS),
    )
    ids = connection.execute(_launch_statement(nonce_key is not None, shape), params).first()
    if ids is None:
        raise NonceRefused()
    launch.course_id, launch.person_id = ids[0], ids[1]
    launch.resource_link_id = ids[2] if rows.link is not None else None


@cache
def _launch_statement(
    spends_nonce: bool, shape: tuple[tuple[str, type[Base], Upsert, tuple[str, ...]], ...]
) -> Any:
    """The PostgreSQL statement of a launch whose rows have this shape ((name, model, upsert,
    columns) of each), built once: data-modifying CTEs that take the nonce (single use, as
    `StateStore.take`) if `spends_nonce`, upsert each row only if it was taken, reading the ids
    a row takes from the others' RETURNING, and save the launch's context with those ids. It
    returns the ids, or no row (and writes nothing) if the nonce was not live."""
    nonce = (
        STATE.delete()
        .where(
            STATE.c.key == bindparam("nonce_key"),
            STATE.c.expires_at > bindparam("nonce_now", type_=STATE.c.expires_at.type),
        )
        .returning(STATE.c.key)
        .cte("nonce")
        if spends_nonce
        else select(literal(None)).cte("nonce")  # always one row
    )
    ctes, ids = [nonce], {}
    for name, model, upsert, columns in shape:
        taken = {key: ids[key] for key in TAKES.get(name, ())}
        cte = _upsert_cte(model, name, upsert, columns, taken, nonce)
        ctes.append(cte)
        if name in GIVES:
            ids[GIVES[name]] = select(cte.c.id).scalar_subquery()
    context: list[Any] = [bindparam("launch_context", type_=Text)]
    for key in LAUNCH_IDS:
        # Constants in the SQL itself, not parameters (as below): fewer values to send each time.
        piece = literal_column(f"""',"{key}":{"" if key in ids else "null"}'""")
        context += [piece, ids[key]] if key in ids else [piece]
    key = bindparam("launch_key", type_=STATE.c.key.type)
    expires = bindparam("launch_expires", type_=STATE.c.expires_at.type)
    saved = STATE.insert().from_select(
        ["key", "value", "expires_at"],
        select(key, func.concat(*context, literal_column("'}'")), expires).select_from(nonce),
    )
    asynchronous = func.set_config(
        literal_column("'synchronous_commit'"), literal_column("'off'"), true()
    )
    returned = select(*ids.values(), asynchronous).select_from(nonce)
    return returned.add_cte(*ctes, saved.cte("saved"))


def _upsert_cte(
    model: type[Base],
    name: str,
    upsert: Upsert,
    columns: tuple[str, ...],
    ids: Mapping[str, Any],
    gate: Any,
) -> Any:
    """An upsert of one row as a CTE named `name` returning its `id` (PostgreSQL), written only
    if `gate` has a row: `columns` as parameters `<name>_<column>`, `ids` (other CTEs' ids) as
    given. Columns' scalar defaults are filled in here: SQLAlchemy leaves them out of an
    `INSERT ... SELECT`."""
    table = model.__table__
    row: dict[str, Any] = {
        column.name: literal(column.default.arg, column.type)
        for column in table.c
        if column.default is not None and column.default.is_scalar
    }
    row.update({key: bindparam(f"{name}_{key}", type_=table.c[key].type) for key in columns})
    row.update(ids)
    statement = postgresql.insert(table).from_select(
        list(row), select(*row.values()).select_from(gate)
    )
    return (
        statement.on_conflict_do_update(
            index_elements=list(upsert.conflict),
            set_=_changes(table, statement.excluded, upsert),
        )
        .returning(table.c.id)
        .cte(name)
    )


def _changes(table: Any, new: Any, upsert: Upsert) -> dict[str, Any]:
    """An upsert's SET: `replace` columns take the new value, `unless_empty` ones only a
    non-empty one."""
    changes = {name: new[name] for name in upsert.replace}
    for name in upsert.unless_empty:
        changes[name] = func.coalesce(func.nullif(new[name], literal_column("''")), table.c[name])
    return changes


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
    return dict(_upsert(session, Person, PERSON_UPSERT, rows, returning=("sub", "id")))


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
    _upsert(session, Enrollment, ENROLLMENT_UPSERT, rows, keep_launched_staff=source != "launch")


def _upsert(
    session: Session,
    model: type[Base],
    upsert: Upsert,
    rows: Sequence[Mapping[str, Any]],
    *,
    keep_launched_staff: bool = False,
    returning: tuple[str, ...] = ("id",),
) -> Sequence[Any]:
    """`INSERT ... ON CONFLICT DO UPDATE` of many rows (one statement per page of
    insertmanyvalues); returns the `returning` columns of every row written."""
    dialect = session.get_bind().dialect.name
    table = model.__tablename__
    statement = _upsert_statement(dialect, table, upsert, keep_launched_staff, returning)
    if len(rows) == 1:
        return [session.execute(statement, dict(rows[0])).one()]
    return session.execute(statement, [dict(row) for row in rows]).all() if rows else []


@cache
def _upsert_statement(
    dialect: str,
    table_name: str,
    upsert: Upsert,
    keep_launched_staff: bool = False,
    returning: tuple[str, ...] = ("id",),
) -> Any:
    """The upsert of `table_name`'s rows, built once; with `keep_launched_staff`, an
    enrollment made staff by a launch is left alone."""
    table = Base.metadata.tables[table_name]
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    where = None
    if keep_launched_staff:
        where = ~(table.c.is_staff & (table.c.source == "launch"))
    return statement.on_conflict_do_update(
        index_elements=list(upsert.conflict),
        set_=_changes(table, statement.excluded, upsert),
        where=where,
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
