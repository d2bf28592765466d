"""Judging learners: append-only judgements, the roll-up to levels, and the events it raises.

Judgements are never updated or deleted; the current verdict of a cell (learner x statement) is the
latest judgement of it. Level achievements are recomputed after every batch of judgements: new
ones are created, ones no longer met are withdrawn, and each change is a `LevelEvent` passed to the
listeners (xAPI, credentials, grade passback) inside the same transaction.

An item that would leave its cell as it is records nothing (`Outcome.unchanged`): a judgement is
a decision, and re-recording one (a bulk action over cells already met, a dialog saved as it was
opened) would replace its comment and evidence. `comment` and `evidence_url` of a request: a string
sets it (empty or blank: none); None (absent or null in the API) keeps the cell's current one when
the verdict stays the same, and means none with a new verdict (a comment explains its verdict).
`show_in_credential` (the evaluator's tick: the comment goes into the learner's credential) is
likewise kept when absent, except that a new or changed comment is not shown unless ticked again.

Judging is serialized per learner and placement (`lock_learners`): the roll-up and the listeners
read the cell's latest judgement and the active achievements, then write on that basis, so two
evaluators judging one learner at once must not both read the state before either wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, selectinload

from lms_plugin.assessment import current_cells
from lms_plugin.assessment.models import VERDICTS, Judgement, LevelAchievement
from lms_plugin.assessment.rules import LevelRule, achieved_levels
from lms_plugin.frameworks.models import FrameworkVersion, Level, Statement
from lms_plugin.lti.models import Enrollment, Person, ResourceLink
from lms_plugin.orm import copy_rows, insert_rows, utcnow
from lms_plugin.strict_json import CONTROL_OR_LONE_SURROGATE

MAX_COMMENT = 5000
MAX_URL = 2048
MAX_BATCH = 5000


class JudgementError(ValueError):
    """A judgement request is invalid; `index` names the item (None: the whole request)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class JudgementRequest:
    learner_id: int
    statement_id: int
    verdict: str
    comment: str | None = None
    evidence_url: str | None = None
    show_in_credential: bool | None = None
    """The comment goes into the credential's evidence; None: as `comment` (kept or not)."""


@dataclass(frozen=True, slots=True)
class Superseded:
    """The judgement a new one replaced as its cell's current."""

    id: int
    verdict: str
    judged_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordedJudgement:
    """A judgement `record_judgements` wrote: the row's columns, without an ORM object (a bulk
    save writes thousands; reading one back, `history` gives `Judgement`s)."""

    id: int
    resource_link_id: int
    learner_id: int
    statement_id: int
    verdict: str
    comment: str | None
    evidence_url: str | None
    show_in_credential: bool
    judged_by_id: int
    judged_at: dt.datetime
    carried_over_from_id: int | None = None
    supersedes: Superseded | None = None
    """The cell's judgement before this one (None: its first), as read under the lock."""


@dataclass(frozen=True)
class LevelEvent:
    """A level achieved or withdrawn for one learner in one placement."""

    kind: Literal["achieved", "withdrawn"]
    achievement: LevelAchievement
    level: Level
    learner_id: int
    judgement: RecordedJudgement | None
    """The judgement that caused the change (None when staff changed the rule)."""
    levels_held: int
    """How many levels of the placement the learner holds after the change."""
    at: dt.datetime


class AssessmentListener(Protocol):
    """Subscribers to judgements and level changes (xAPI outbox, credentials, grade passback).
    Called inside the transaction that records the judgements; they flush, never commit."""

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[RecordedJudgement]
    ) -> None: ...

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None: ...


@runtime_checkable
class BatchListener(Protocol):
    """A listener that hears all the level changes of a batch at once (`tell_level_changes`),
    so that it can read and write for them all with a statement or two."""

    def levels_changed(
        self, session: Session, placement: Placement, events: Sequence[LevelEvent]
    ) -> None: ...


def tell_level_changes(
    session: Session,
    placement: Placement,
    events: Sequence[LevelEvent],
    listeners: Iterable[AssessmentListener],
) -> None:
    """Tell each listener of `events`: a `BatchListener` once, the others event by event. Their
    reads do not flush (a flush per event would write the rows the others queued one at a time),
    so all their rows go in one flush at the end."""
    if not events:
        return
    with session.no_autoflush:
        for listener in listeners:
            if isinstance(listener, BatchListener):
                listener.levels_changed(session, placement, events)
                continue
            for event in events:
                listener.level_changed(session, placement, event)
    session.flush()


@dataclass
class Placement:
    """A resource link's framework version, the levels in scope (in order) and the rule."""

    link: ResourceLink
    version: FrameworkVersion
    levels: list[Level]
    rule: LevelRule
    statements: dict[int, Statement] = field(init=False)

    def __post_init__(self) -> None:
        self.statements = {s.id: s for level in self.levels for s in level.statements}

    @property
    def level_statements(self) -> list[tuple[int, list[int]]]:
        return [(level.id, [s.id for s in level.statements]) for level in self.levels]


@dataclass
class Outcome:
    judgements: list[RecordedJudgement]
    events: list[LevelEvent]
    unchanged: list[int] = field(default_factory=list)
    """Indexes of the requests that would have left their cell as it was: nothing recorded."""


CellState = tuple[str, str | None, str | None, bool]
"""A cell's verdict, comment, evidence URL and whether its comment shows in the credential
("clear", None, None, False when never judged)."""
NOT_JUDGED: CellState = ("clear", None, None, False)


def load_placement(session: Session, link: ResourceLink) -> Placement | None:
    """The placement of a link, or None when no framework is chosen yet."""
    if link.framework_version_id is None:
        return None
    version = session.scalar(
        select(FrameworkVersion)
        .where(FrameworkVersion.id == link.framework_version_id)
        .options(selectinload(FrameworkVersion.levels).selectinload(Level.statements))
    )
    assert version is not None
    levels = [lvl for lvl in version.levels if not link.level_keys or lvl.key in link.level_keys]
    rule = LevelRule(link.threshold_percent, link.require_lower_levels)
    return Placement(link=link, version=version, levels=levels, rule=rule)


def learners(session: Session, course_id: int) -> Sequence[Person]:
    """The course's learners (everyone enrolled who is not staff), by name."""
    query = (
        select(Person)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(Enrollment.course_id == course_id, Enrollment.is_staff.is_(False))
        .order_by(Person.name, Person.id)
    )
    return session.scalars(query).all()


def record_judgements(
    session: Session,
    placement: Placement,
    judged_by: Person,
    requests: Sequence[JudgementRequest],
    listeners: Iterable[AssessmentListener] = (),
    now: dt.datetime | None = None,
) -> Outcome:
    """Validate every request (all or nothing), append a judgement for each that changes its cell
    (the others are `unchanged`), recompute the levels of the learners concerned and tell the
    listeners. Flushes; the caller commits."""
    if not requests:
        raise JudgementError("no judgements given")
    if len(requests) > MAX_BATCH:
        raise JudgementError(f"at most {MAX_BATCH} judgements in one request")
    learner_ids = {r.learner_id for r in requests}
    enrolled = _learner_ids(session, placement.link.course_id, learner_ids)
    for index, request in enumerate(requests):
        _validate(placement, enrolled, request, index)
    lock_learners(session, placement.link.id, learner_ids)
    _reread_rule(session, placement)
    now = now or utcnow()
    current = current_verdicts(session, placement.link.id, learner_ids)
    cells: dict[tuple[int, int], CellState] = {
        key: (row.verdict, row.comment, row.evidence_url, row.show_in_credential)
        for key, row in current.items()
    }
    pending: list[tuple[int, int, CellState]] = []
    unchanged: list[int] = []
    for index, request in enumerate(requests):
        key = (request.learner_id, request.statement_id)
        before = cells.get(key, NOT_JUDGED)
        after = next_state(before, request)
        if after == before:
            unchanged.append(index)
            continue
        cells[key] = after
        pending.append((request.learner_id, request.statement_id, after))
    if not pending:
        return Outcome([], [], unchanged)
    ids = _reserve_ids(session, Judgement, len(pending))
    judgements: list[RecordedJudgement] = []
    latest: dict[tuple[int, int], Superseded] = {}  # cells judged twice in the batch
    for id, (learner_id, statement_id, after) in zip(ids, pending, strict=True):
        key = (learner_id, statement_id)
        earlier = latest.get(key)
        if earlier is None and key in current:
            row = current[key]
            earlier = Superseded(row.id, row.verdict, row.judged_at)
        judgements.append(
            RecordedJudgement(
                id,
                placement.link.id,
                learner_id,
                statement_id,
                *after,
                judged_by_id=judged_by.id,
                judged_at=now,
                supersedes=earlier,
            )
        )
        latest[key] = Superseded(id, after[0], now)
    _insert(session, judgements)
    current_cells.keep(session, judgements)
    listeners = list(listeners)
    for listener in listeners:
        listener.judged(session, placement, judgements)
    last_by_learner: dict[int, RecordedJudgement | None] = {j.learner_id: j for j in judgements}
    verdicts = {key: state[0] for key, state in cells.items()}  # as now recorded
    events = _roll_up(session, placement, last_by_learner, now, verdicts)
    tell_level_changes(session, placement, events, listeners)
    return Outcome(judgements, events, unchanged)


_INSERTED = ("id", *current_cells.COPIED)  # a judgement row, id first
_inserted_values = attrgetter(*_INSERTED)  # a judgement's row, as a tuple


# The sequence is looked up once (MATERIALIZED), not once a row: `pg_get_serial_sequence` reads
# the catalogs, 8 of the 9 ms that 1,200 ids took.
_NEXT_IDS = sql(
    "WITH sequence AS MATERIALIZED ("
    "SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS name) "
    "SELECT nextval(sequence.name) FROM sequence, generate_series(1, :count)"
)


def _reserve_ids(
    session: Session, model: type[Judgement | LevelAchievement], count: int
) -> list[int]:
    """`count` new ids of `model`'s table, ascending and above every id committed so far, so
    its rows go in with one statement (the ORM inserts them one by one on SQLite, where it cannot
    match the ids an INSERT returns to its rows). Called under the learners' locks.

    PostgreSQL: from the table's sequence (concurrent batches of other learners get other
    numbers). SQLite: the transaction holds the database's write lock (`lock_learners`), so
    no one else inserts until it commits, and the ids follow the highest as SQLite's would."""
    if not count:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(_NEXT_IDS, {"table": model.__tablename__, "count": count}))
    highest = session.scalar(select(func.max(model.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def _insert(session: Session, judgements: Sequence[RecordedJudgement]) -> None:
    """Write the judgements: a binary COPY on PostgreSQL (`copy_rows`), one executemany handed
    to the driver on SQLite (`insert_rows`)."""
    rows = list(map(_inserted_values, judgements))
    connection = session.connection()
    write = copy_rows if connection.dialect.name == "postgresql" else insert_rows
    write(connection, Judgement.__table__, _INSERTED, rows)


def next_state(before: CellState, request: JudgementRequest) -> CellState:
    """The cell's state once `request` is recorded (see the module's docstring)."""
    verdict, comment, evidence_url, shown = before
    same = request.verdict == verdict
    kept_comment = _given(request.comment, comment if same else None)
    if request.show_in_credential is not None:
        shown = request.show_in_credential
    elif not same or kept_comment != comment:
        shown = False  # a new comment is not shown unless the evaluator ticks it again
    return (
        request.verdict,
        kept_comment,
        _given(request.evidence_url, evidence_url if same else None),
        shown and kept_comment is not None,
    )


def _given(text: str | None, kept: str | None) -> str | None:
    return kept if text is None else text.strip() or None


# The latest judgement of each cell, read from the table kept on write (issue 17).
current_verdicts = current_cells.current_verdicts


def active_achievements(
    session: Session, link_id: int, learner_ids: Iterable[int] | None = None
) -> list[LevelAchievement]:
    query = select(LevelAchievement).where(
        LevelAchievement.resource_link_id == link_id, LevelAchievement.withdrawn_at.is_(None)
    )
    if learner_ids is not None:
        query = query.where(LevelAchievement.learner_id.in_(list(learner_ids)))
    return list(session.scalars(query))


def history(
    session: Session,
    link_id: int,
    learner_id: int | None = None,
    statement_id: int | None = None,
) -> Sequence[Judgement]:
    """Every judgement of a link (optionally one learner and/or statement), newest first (in the
    order they were recorded, the order that decides which is current)."""
    query = select(Judgement).where(Judgement.resource_link_id == link_id)
    if learner_id is not None:
        query = query.where(Judgement.learner_id == learner_id)
    if statement_id is not None:
        query = query.where(Judgement.statement_id == statement_id)
    return session.scalars(query.order_by(Judgement.id.desc())).all()


def change_rule(
    session: Session,
    placement: Placement,
    rule: LevelRule,
    listeners: Iterable[AssessmentListener] = (),
    now: dt.datetime | None = None,
) -> list[LevelEvent]:
    """Set the link's rule and recompute every learner's levels under it. Flushes."""
    if not 1 <= rule.threshold_percent <= 100:
        raise JudgementError("the threshold must be between 1 and 100 percent")
    learner_ids = {p.id for p in learners(session, placement.link.course_id)}
    lock_learners(session, placement.link.id, learner_ids)
    placement.link.threshold_percent = rule.threshold_percent
    placement.link.require_lower_levels = rule.require_lower_levels
    placement.rule = rule
    events = _roll_up(session, placement, dict.fromkeys(learner_ids), now or utcnow())
    tell_level_changes(session, placement, events, listeners)
    return events


def lock_learners(session: Session, link_id: int, learner_ids: Iterable[int]) -> None:
    """Take the write lock of each (placement, learner) for the rest of the transaction, so that
    whatever this transaction reads about them afterwards stays true until it commits.

    PostgreSQL: a transaction-level advisory lock keyed (link id, learner id), taken in learner id
    order so that batches naming several learners cannot deadlock; committed rows of the previous
    holder are visible to the statements that follow (READ COMMITTED). SQLite has one writer at a
    time: take the database's write lock now (BEGIN IMMEDIATE) unless this transaction already
    holds it, so that no read comes from a snapshot older than the last commit.
    """
    wanted = sorted(set(learner_ids))
    if not wanted:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_ADVISORY_LOCKS, {"link": link_id, "learners": wanted})
        return
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# The subquery's ORDER BY fixes the order in which the aggregate takes the locks.
_ADVISORY_LOCKS = sql(
    "SELECT count(pg_advisory_xact_lock(CAST(:link AS integer), learner)) FROM ("
    "SELECT unnest(CAST(:learners AS integer[])) AS learner ORDER BY 1) AS wanted"
)


def _reread_rule(session: Session, placement: Placement) -> None:
    """The link's rule as committed now (read under the lock: a concurrent `change_rule` may have
    changed it since the placement was loaded)."""
    row = session.execute(
        select(ResourceLink.threshold_percent, ResourceLink.require_lower_levels).where(
            ResourceLink.id == placement.link.id
        )
    ).one()
    placement.rule = LevelRule(row.threshold_percent, row.require_lower_levels)


def _roll_up(
    session: Session,
    placement: Placement,
    causes: Mapping[int, RecordedJudgement | None],
    now: dt.datetime,
    verdicts: Mapping[tuple[int, int], str] | None = None,
) -> list[LevelEvent]:
    """Recompute the levels of the learners in `causes` (learner id -> the judgement that caused
    the recomputation, if any) and record what changed. `verdicts`: the current verdict of each
    judged cell of these learners, when the caller knows them (else they are read)."""
    learner_ids = set(causes)
    if verdicts is None:
        rows = current_verdicts(session, placement.link.id, learner_ids, details=False)
        verdicts = {key: row.verdict for key, row in rows.items()}
    met: dict[int, dict[int, bool]] = defaultdict(dict)
    for (learner_id, statement_id), verdict in verdicts.items():
        met[learner_id][statement_id] = verdict == "met"
    active: dict[tuple[int, int], LevelAchievement] = {
        (a.learner_id, a.level_id): a
        for a in active_achievements(session, placement.link.id, learner_ids)
    }
    events: list[LevelEvent] = []
    achieved: list[LevelAchievement] = []
    for learner_id in sorted(learner_ids):
        cause = causes[learner_id]
        cause_id = cause.id if cause is not None else None
        now_achieved = set(
            achieved_levels(placement.level_statements, met[learner_id], placement.rule)
        )
        held_count = len(now_achieved)
        for level in placement.levels:
            held = active.get((learner_id, level.id))
            if level.id in now_achieved and held is None:
                achievement = LevelAchievement(
                    resource_link_id=placement.link.id,
                    learner_id=learner_id,
                    level_id=level.id,
                    achieved_at=now,
                    achieved_by_judgement_id=cause_id,
                )
                achieved.append(achievement)
                events.append(
                    LevelEvent("achieved", achievement, level, learner_id, cause, held_count, now)
                )
            elif level.id not in now_achieved and held is not None:
                held.withdrawn_at = now
                held.withdrawn_by_judgement_id = cause_id
                events.append(
                    LevelEvent("withdrawn", held, level, learner_id, cause, held_count, now)
                )
    # With their ids given, the ORM inserts them with one statement (else one each on SQLite).
    ids = _reserve_ids(session, LevelAchievement, len(achieved))
    for achievement, id in zip(achieved, ids, strict=True):
        achievement.id = id
    session.add_all(achieved)
    session.flush()
    return events


def _learner_ids(session: Session, course_id: int, wanted: set[int]) -> set[int]:
    query = select(Enrollment.person_id).where(
        Enrollment.course_id == course_id,
        Enrollment.is_staff.is_(False),
        Enrollment.person_id.in_(wanted),
    )
    return set(session.scalars(query))


def web_link(url: str) -> bool:
    """An absolute http(s) URL with a host, no spaces or control characters, and no user name or
    password (`https://trusted.example@elsewhere.example/` reads as one site and is another)."""
    if any(c.isspace() for c in url) or CONTROL_OR_LONE_SURROGATE.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
    )


def _validate(
    placement: Placement, enrolled: set[int], request: JudgementRequest, index: int
) -> None:
    if request.verdict not in VERDICTS:
        raise JudgementError(f"verdict must be one of {', '.join(VERDICTS)}", index)
    if request.statement_id not in placement.statements:
        raise JudgementError("the statement is not in this activity's levels", index)
    if request.learner_id not in enrolled:
        raise JudgementError("the learner is not a learner of this course", index)
    for name, text, limit in (
        ("comment", request.comment, MAX_COMMENT),
        ("evidence_url", request.evidence_url, MAX_URL),
    ):
        if text is None:
            continue
        if len(text) > limit:
            raise JudgementError(f"{name} is longer than {limit} characters", index)
        if CONTROL_OR_LONE_SURROGATE.search(text):
            raise JudgementError(f"{name} contains control characters or lone surrogates", index)
    url = (request.evidence_url or "").strip()
    if url and not web_link(url):
        raise JudgementError("evidence_url must be a web link (http or https, no user name)", index)
