"""Read models of assessment for pages, the JSON API and the CSV exports: the grid, a learner's
progress, judgements, and the credentials of a learner or of an activity (joined with their levels
and learners)."""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Row, case, exists, func, select
from sqlalchemy.orm import Session

from lms_plugin.assessment import current_cells, services
from lms_plugin.assessment.models import (
    CurrentJudgement,
    EvidenceSubmission,
    Judgement,
    LevelAchievement,
)
from lms_plugin.assessment.services import Placement
from lms_plugin.credentials import sharing
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential, CredentialRequest
from lms_plugin.frameworks.models import Level
from lms_plugin.lti.models import Enrollment, Person
from lms_plugin.orm import utc_iso, utcnow


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
    now = utcnow()
    return waiting + [
        {
            "id": credential.id,
            "level": level.key,
            "level_label": level.label,
            "url": settings.credential_url(credential.id),
            "status": "revoked" if credential.revoked_at else "active",
            "reason": credential.revocation_reason,
            "expires": utc_iso(credential.valid_until) if credential.valid_until else None,
            **_sharing(settings, credential, now),
        }
        for credential, level in session.execute(query)
    ]


def _sharing(settings: IssuerSettings, credential: Credential, now: dt.datetime) -> dict[str, Any]:
    """Whether the learner may still share the credential, and LinkedIn's form for it if so."""
    if not sharing.offerable(credential.revoked_at, credential.valid_until, now):
        return {"shareable": False, "linkedin_url": None}
    url = sharing.linkedin_url(
        json.loads(credential.document),
        credential.id,
        credential.issued_at,
        settings.credential_url(credential.id),
    )
    return {"shareable": True, "linkedin_url": url}


def link_credentials(
    session: Session, settings: IssuerSettings, link_id: int
) -> list[dict[str, Any]]:
    """Every credential issued in one activity, newest first, for staff (light rows: not the
    signed documents)."""
    query = (
        select(
            Credential.id,
            Credential.issued_at,
            Credential.revoked_at,
            Credential.revocation_reason,
            Level.label,
            Person.name,
            Person.sub,
        )
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .join(Person, Person.id == Credential.learner_id)
        .where(LevelAchievement.resource_link_id == link_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    return [
        {
            "id": row.id,
            "learner": row.name or row.sub,
            "level_label": row.label,
            "url": settings.credential_url(row.id),
            "issued_at": row.issued_at,
            "revoked": row.revoked_at is not None,
            "reason": row.revocation_reason,
        }
        for row in session.execute(query)
    ]


def names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Display names of people by id (name, else LTI sub)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Person.id, Person.name, Person.sub).where(Person.id.in_(wanted)))
    return {row.id: row.name or row.sub for row in rows}


def judgement_json(judgement: Judgement, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": judgement.id,
        "learner_id": judgement.learner_id,
        "statement_id": judgement.statement_id,
        "verdict": judgement.verdict,
        "comment": judgement.comment,
        "evidence_url": judgement.evidence_url,
        "show_in_credential": judgement.show_in_credential,
        "judged_by": names.get(judgement.judged_by_id, ""),
        "judged_by_id": judgement.judged_by_id,
        "judged_at": utc_iso(judgement.judged_at),
        # The earlier version's judgement this one copies (placement moved), else null.
        "carried_over_from": judgement.carried_over_from_id,
    }


PAGE_SIZE = 100
SORTS = ("name", "progress")
MAX_FILTER = 200
# Letters that Unicode does not decompose into a base letter and a mark (as grid.js had them).
_FOLDS = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "œ": "oe",
                        "þ": "th", "ı": "i"})  # fmt: skip


def fold(text: str) -> str:
    """Text for matching names: lower case, no accents ("Chloé" -> "chloe", "Ø" -> "o"),
    single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLDS)
    return " ".join(bare.split())


@dataclass(frozen=True)
class GridQuery:
    """Which learners the grid shows: all of them (`page` None, the API's default) or one page,
    by name or by progress (fewest statements met first), optionally filtered by name (ignoring
    case and accents, every word) and by what is left to do (`STATES`)."""

    page: int | None = None
    sort: str = "name"
    q: str = ""
    state: str = ""
    size: int = PAGE_SIZE

    @classmethod
    def from_args(cls, args: Mapping[str, str], paged: bool) -> GridQuery:
        """From query (or form) parameters; ValueError in words for anything else. `paged`:
        page 1 when no page is named (the grid page), else every learner unless one is."""
        page_text = args.get("page", "").strip()
        if page_text and not (page_text.isdigit() and 0 < int(page_text) < 10**6):
            raise ValueError("page must be a whole number from 1")
        sort = args.get("sort", "").strip() or "name"
        if sort not in SORTS:
            raise ValueError("sort must be name or progress")
        state = args.get("state", "").strip()
        if state and state not in STATES:
            raise ValueError("state must be one of: " + ", ".join(STATES))
        q = args.get("q", "")
        if len(q) > MAX_FILTER:
            raise ValueError(f"the name filter is longer than {MAX_FILTER} characters")
        page = int(page_text) if page_text else (1 if paged else None)
        return cls(page=page, sort=sort, q=q.strip(), state=state)

    @property
    def filtered(self) -> bool:
        return bool(fold(self.q)) or bool(self.state)


@dataclass(frozen=True)
class _Standing:
    """What a learner has done in the placement: statements judged and met, levels held, and
    statements with evidence waiting for an evaluator."""

    judged: int = 0
    met: int = 0
    levels: int = 0
    waiting: int = 0


# The state filters, on a learner's standing and the placement's numbers of statements and levels.
STATES: dict[str, Callable[[_Standing, int, int], bool]] = {
    "unjudged": lambda standing, statements, _levels: standing.judged < statements,
    "missing-level": lambda standing, _statements, levels: standing.levels < levels,
    "evidence-waiting": lambda standing, _statements, _levels: standing.waiting > 0,
}


@dataclass(frozen=True)
class _Counts:
    """Statements judged and met per learner of a link (`counts`: learner id -> (judged, met)),
    as of its newest judgement (`newest`), over the placement's statements (`scope`); all of them
    counted at `counted_at` (monotonic seconds), some learners since."""

    newest: int | None
    scope: tuple[int, ...]
    counts: dict[int, tuple[int, int]]
    counted_at: float


# Cell counts by engine (an app's database) and link, most recently used last.
_KEPT: WeakKeyDictionary[Engine, OrderedDict[int, _Counts]] = WeakKeyDictionary()
_KEEP_LINKS = 32
# A change to more learners than this since the kept counts: count them all again.
_PATCH_LEARNERS = 200
# On PostgreSQL a judgement may commit after a newer one was seen, and be passed over by the
# counts of learners judged since: everyone is counted again at least this often (seconds).
_RECOUNT_AFTER = 30.0


def _cell_counts(session: Session, placement: Placement) -> dict[int, tuple[int, int]]:
    """Every learner's statements judged and met, from the current judgements. Kept per link: a
    sort by progress is paged through, and asked for again after each judgement, when only the
    learners whose cells moved past the kept newest judgement are counted again (a cell's row
    only ever moves to a newer judgement; everyone is counted again after `_RECOUNT_AFTER`)."""
    link_id = placement.link.id
    cell = CurrentJudgement
    newest = session.scalar(
        select(func.max(cell.judgement_id)).where(cell.resource_link_id == link_id)
    )
    scope = tuple(placement.statements)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    links = _KEPT.setdefault(engine, OrderedDict())
    kept = links.get(link_id)
    now = time.monotonic()
    fresh = kept is not None and kept.scope == scope and now - kept.counted_at < _RECOUNT_AFTER
    if fresh and kept is not None and kept.newest == newest:
        links.move_to_end(link_id)
        return kept.counts
    since = kept.newest if fresh and kept is not None else None
    if since is not None and newest is not None and newest > since:
        changed = set(
            session.scalars(
                select(cell.learner_id)
                .distinct()
                .where(cell.resource_link_id == link_id, cell.judgement_id > since)
                .limit(_PATCH_LEARNERS + 1)
            )
        )
        if len(changed) <= _PATCH_LEARNERS:
            assert kept is not None
            counts = {k: v for k, v in kept.counts.items() if k not in changed}
            counts.update(_read_counts(session, placement, changed))
            return _keep(links, link_id, _Counts(newest, scope, counts, kept.counted_at))
    counts = _read_counts(session, placement)
    return _keep(links, link_id, _Counts(newest, scope, counts, now))


def _keep(
    links: OrderedDict[int, _Counts], link_id: int, counts: _Counts
) -> dict[int, tuple[int, int]]:
    links[link_id] = counts
    links.move_to_end(link_id)
    while len(links) > _KEEP_LINKS:
        links.popitem(last=False)
    return counts.counts


def _read_counts(
    session: Session, placement: Placement, learner_ids: Iterable[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Statements judged (not cleared) and met per learner (of `learner_ids`, else all), counted
    by the database over the current judgements (one row a cell, whatever the history)."""
    cell = CurrentJudgement
    query = (
        select(
            cell.learner_id,
            func.count(),
            func.sum(case((cell.verdict == "met", 1), else_=0)),
        )
        .where(
            cell.resource_link_id == placement.link.id,
            cell.statement_id.in_(list(placement.statements)),
            cell.verdict != "clear",
        )
        .group_by(cell.learner_id)
    )
    if learner_ids is not None:
        query = query.where(cell.learner_id.in_(list(learner_ids)))
    return {learner: (judged, int(met or 0)) for learner, judged, met in session.execute(query)}


def _standings(session: Session, placement: Placement) -> dict[int, _Standing]:
    """Every learner's standing: cell counts (kept, see `_cell_counts`), then levels held and
    evidence waiting, each counted by the database in one query (they are few rows)."""
    link_id = placement.link.id
    found = {
        learner: _Standing(judged, met)
        for learner, (judged, met) in _cell_counts(session, placement).items()
    }
    held = session.execute(
        select(LevelAchievement.learner_id, func.count().label("levels"))
        .where(
            LevelAchievement.resource_link_id == link_id,
            LevelAchievement.withdrawn_at.is_(None),
            LevelAchievement.level_id.in_([level.id for level in placement.levels]),
        )
        .group_by(LevelAchievement.learner_id)
    )
    for row in held:
        was = found.get(row.learner_id, _Standing())
        found[row.learner_id] = _Standing(was.judged, was.met, row.levels)
    waiting = session.execute(
        select(
            EvidenceSubmission.learner_id,
            func.count(EvidenceSubmission.statement_id.distinct()).label("cells"),
        )
        .where(
            EvidenceSubmission.resource_link_id == link_id,
            EvidenceSubmission.statement_id.in_(list(placement.statements)),
            ~exists(_later_judgements(Judgement.id)),
        )
        .group_by(EvidenceSubmission.learner_id)
    )
    for row in waiting:
        was = found.get(row.learner_id, _Standing())
        found[row.learner_id] = _Standing(was.judged, was.met, was.levels, row.cells)
    return found


def _roster_query(course_id: int) -> Any:
    return (
        select(Person.id, Person.name, Person.sub)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(Enrollment.course_id == course_id, Enrollment.is_staff.is_(False))
    )


def _roster(
    session: Session, course_id: int, page: tuple[int, int] | None = None
) -> list[tuple[int, str]]:
    """The course's learners as (id, name as the roster gives it), by name: light rows, a course
    may have thousands. `page`: (offset, limit), only those."""
    query = _roster_query(course_id).order_by(Person.name, Person.id)
    if page is not None:
        query = query.offset(page[0]).limit(page[1])
    return [(row.id, row.name or row.sub) for row in session.execute(query)]


def cohort_counts(session: Session, placement: Placement) -> tuple[dict[int, dict[str, int]], int]:
    """For the cohort overview: per statement of the placement, how many of the course's learners
    have it met and not yet (current verdicts), and how many learners the course has, counted by
    the database (no row per cell leaves it)."""
    learners = _roster_query(placement.link.course_id).subquery()
    cell = CurrentJudgement
    rows = session.execute(
        select(cell.statement_id, cell.verdict, func.count())
        .join(learners, learners.c.id == cell.learner_id)
        .where(
            cell.resource_link_id == placement.link.id,
            cell.statement_id.in_(list(placement.statements)),
            cell.verdict.in_(("met", "not_yet")),
        )
        .group_by(cell.statement_id, cell.verdict)
    )
    counts = {statement: {"met": 0, "not_yet": 0} for statement in placement.statements}
    for statement, verdict, count in rows:
        counts[statement][verdict] = count
    total = session.scalar(select(func.count()).select_from(learners)) or 0
    return counts, total


def _paging(query: GridQuery, matching: int, total: int) -> dict[str, Any]:
    """Which page of `matching` learners (of `total`) the query shows: the last one if it names
    a page beyond it."""
    assert query.page is not None
    pages = max(1, -(-matching // query.size))
    return {
        "page": min(query.page, pages),
        "pages": pages,
        "per_page": query.size,
        "matching": matching,
        "total": total,
        "sort": query.sort,
        "q": query.q,
        "state": query.state,
    }


def _chosen(
    session: Session, placement: Placement, query: GridQuery, everyone: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    """The learners a query's name and state filters keep, in its order."""
    if not (query.filtered or query.sort == "progress"):
        return everyone
    words = fold(query.q).split()
    chosen = [p for p in everyone if all(word in fold(p[1]) for word in words)]
    if query.state or query.sort == "progress":
        standings = _standings(session, placement)
        if query.state:
            keep = STATES[query.state]
            sizes = (len(placement.statements), len(placement.levels))
            chosen = [p for p in chosen if keep(standings.get(p[0], _Standing()), *sizes)]
        if query.sort == "progress":  # stable: by name within the same progress
            chosen.sort(key=lambda p: standings.get(p[0], _Standing()).met)
    return chosen


@dataclass(frozen=True)
class _Shown:
    """The learners a grid query shows, (id, name) in order; `ids` None when they are everyone
    (their cells are then read without a list of learners); `paging` for a page."""

    learners: list[tuple[int, str]]
    ids: list[int] | None
    paging: dict[str, Any] | None


def _shown(session: Session, placement: Placement, query: GridQuery) -> _Shown:
    course_id = placement.link.course_id
    if query.page is not None and query.sort == "name" and not query.filtered:
        # A page of everyone by name: the database counts and pages (no row for the others).
        total = session.scalar(
            select(func.count()).select_from(_roster_query(course_id).subquery())
        )
        paging = _paging(query, total or 0, total or 0)
        offset = (paging["page"] - 1) * query.size
        shown = _roster(session, course_id, (offset, query.size))
        return _Shown(shown, [p[0] for p in shown], paging)
    everyone = _roster(session, course_id)
    chosen = _chosen(session, placement, query, everyone)
    if query.page is None:
        return _Shown(chosen, None if chosen is everyone else [p[0] for p in chosen], None)
    paging = _paging(query, len(chosen), len(everyone))
    offset = (paging["page"] - 1) * query.size
    shown = chosen[offset : offset + query.size]
    return _Shown(shown, [p[0] for p in shown], paging)


def _achieved(session: Session, placement: Placement, shown: _Shown) -> dict[int, list[str]]:
    """The keys of the levels in scope each learner shown holds, from light rows."""
    level_keys = {level.id: level.key for level in placement.levels}
    held = LevelAchievement
    query = select(held.learner_id, held.level_id).where(
        held.resource_link_id == placement.link.id, held.withdrawn_at.is_(None)
    )
    if shown.ids is not None:
        query = query.where(held.learner_id.in_(shown.ids))
    achieved: dict[int, list[str]] = {}
    for learner_id, level_id in session.execute(query):
        if level_id in level_keys:
            achieved.setdefault(learner_id, []).append(level_keys[level_id])
    return achieved


def _grid(
    session: Session, placement: Placement, shown: _Shown, cells: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The grid of the learners shown, with `cells` when given (see `grid_json`)."""
    link_id = placement.link.id
    achieved = _achieved(session, placement, shown) if shown.learners else {}
    waiting = _waiting_cells(session, link_id, shown.ids) if shown.learners else []
    learner_ids = {p[0] for p in shown.learners}
    statements = placement.statements
    grid: dict[str, Any] = {
        "framework": {
            "id": placement.version.id,
            "title": placement.version.title,
            "version": placement.version.version_label,
        },
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "statements": [{"id": s.id, "text": s.text} for s in level.statements],
            }
            for level in placement.levels
        ],
        "learners": [
            {"id": learner_id, "name": name, "achieved": achieved.get(learner_id, [])}
            for learner_id, name in shown.learners
        ],
    }
    if cells is not None:
        grid["cells"] = cells
    grid["waiting"] = [
        {
            "learner_id": row.learner_id,
            "statement_id": row.statement_id,
            "count": row.count,
            "submitted_at": utc_iso(row.submitted_at),
        }
        for row in waiting
        if row.learner_id in learner_ids and row.statement_id in statements
    ]
    if shown.paging is not None:
        grid["paging"] = shown.paging
    return grid


def grid_json(
    session: Session, placement: Placement, query: GridQuery | None = None
) -> dict[str, Any]:
    """The grid, or one page of it (`query`), in a constant number of queries whatever the number
    of learners: the cells are read for the learners shown only. With a page, `paging` says
    which (`page`, `pages`, `per_page`, `matching`, `total`, `sort`, `q`, `state`). `waiting`:
    the cells shown with evidence waiting for an evaluator (how many submissions, the newest
    when). Each cell says when it was judged and by whom (`judged_at`, `judged_by`)."""
    shown = _shown(session, placement, query or GridQuery())
    link_id = placement.link.id
    verdicts = services.current_verdicts(session, link_id, shown.ids) if shown.learners else {}
    judges = names(session, (j.judged_by_id for j in verdicts.values()))
    learner_ids = {p[0] for p in shown.learners}
    statements = placement.statements
    cells: list[dict[str, Any]] = []
    # Unpacked by position (the columns of `current_verdicts`): a page has thousands of cells.
    for learner, statement, verdict, _, comment, link, shown_, judge, at in verdicts.values():
        if verdict == "clear" or learner not in learner_ids or statement not in statements:
            continue
        cells.append(
            {
                "learner_id": learner,
                "statement_id": statement,
                "verdict": verdict,
                "comment": comment,
                "evidence_url": link,
                "show_in_credential": shown_,
                "judged_at": utc_iso(at),
                "judged_by": judges.get(judge, ""),
            }
        )
    return _grid(session, placement, shown, cells)


def grid_page(
    session: Session, placement: Placement, query: GridQuery
) -> tuple[dict[str, Any], dict[tuple[int, int], Row[Any]]]:
    """The grid page's data: the grid as `grid_json` has it but its cells, and instead the
    current cells of the learners shown as rows (`current_cells.current_notes`, cleared cells
    and statements out of scope included): the page builds its rows from them, 4,000 a page."""
    shown = _shown(session, placement, query)
    link_id = placement.link.id
    cells = current_cells.current_notes(session, link_id, shown.ids) if shown.learners else {}
    return _grid(session, placement, shown, None), cells


def progress_json(
    session: Session, placement: Placement, learner: Person, credentials: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    verdicts = services.current_verdicts(session, placement.link.id, [learner.id])
    achieved = {
        a.level_id for a in services.active_achievements(session, placement.link.id, [learner.id])
    }
    return {
        "learner": {"id": learner.id, "name": learner.name or learner.sub},
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "achieved": level.id in achieved,
                "statements": [
                    _progress_statement(s.id, s.text, verdicts.get((learner.id, s.id)))
                    for s in level.statements
                ],
            }
            for level in placement.levels
        ],
        "credentials": list(credentials),
    }


def _progress_statement(statement_id: int, text: str, judgement: Row[Any] | None) -> dict[str, Any]:
    """A statement as its learner sees it: the current verdict with its comment, evidence link
    and time ("pending" and nulls when never judged or cleared)."""
    if judgement is None or judgement.verdict == "clear":
        judged: dict[str, Any] = {
            "verdict": "pending",
            "comment": None,
            "evidence_url": None,
            "judged_at": None,
        }
    else:
        judged = {
            "verdict": judgement.verdict,
            "comment": judgement.comment,
            "evidence_url": judgement.evidence_url,
            "judged_at": utc_iso(judgement.judged_at),
        }
    return {"id": statement_id, "text": text, **judged}


def _later_judgements(*columns: Any) -> Any:
    """Judgements of a submission's cell recorded after it (correlated to EvidenceSubmission)."""
    submission = EvidenceSubmission
    return (
        select(*columns)
        .where(
            Judgement.resource_link_id == submission.resource_link_id,
            Judgement.learner_id == submission.learner_id,
            Judgement.statement_id == submission.statement_id,
            Judgement.id > func.coalesce(submission.last_judgement_id, 0),
        )
        .correlate(submission)
    )


def evidence_submissions(
    session: Session,
    link_id: int,
    learner_id: int | None = None,
    statement_id: int | None = None,
    *,
    learner_ids: Iterable[int] | None = None,
    waiting_only: bool = False,
) -> list[dict[str, Any]]:
    """Evidence learners submitted in an activity (optionally one learner and/or statement),
    newest first, each with `waiting` (no judgement of its cell since) and `looked_at` (when the
    first judgement after it was recorded)."""
    looked_at = _later_judgements(func.min(Judgement.judged_at)).scalar_subquery()
    query = select(EvidenceSubmission, looked_at.label("looked_at")).where(
        EvidenceSubmission.resource_link_id == link_id
    )
    if learner_id is not None:
        query = query.where(EvidenceSubmission.learner_id == learner_id)
    if statement_id is not None:
        query = query.where(EvidenceSubmission.statement_id == statement_id)
    if learner_ids is not None:
        query = query.where(EvidenceSubmission.learner_id.in_(list(learner_ids)))
    if waiting_only:
        query = query.where(~exists(_later_judgements(Judgement.id)))
    rows = session.execute(query.order_by(EvidenceSubmission.id.desc()))
    return [evidence_json(submission, looked) for submission, looked in rows]


def evidence_json(submission: EvidenceSubmission, looked_at: Any = None) -> dict[str, Any]:
    return {
        "id": submission.id,
        "learner_id": submission.learner_id,
        "statement_id": submission.statement_id,
        "url": submission.url,
        "note": submission.note,
        "submitted_at": utc_iso(submission.submitted_at),
        "waiting": looked_at is None,
        "looked_at": utc_iso(looked_at) if looked_at is not None else None,
    }


def _waiting_cells(
    session: Session, link_id: int, learner_ids: Iterable[int] | None
) -> list[Row[Any]]:
    """The cells with evidence waiting (`learner_id`, `statement_id`, `count`, newest
    `submitted_at`), by learner and statement, counted by the database in one query."""
    query = select(
        EvidenceSubmission.learner_id,
        EvidenceSubmission.statement_id,
        func.count().label("count"),
        func.max(EvidenceSubmission.submitted_at).label("submitted_at"),
    ).where(
        EvidenceSubmission.resource_link_id == link_id, ~exists(_later_judgements(Judgement.id))
    )
    if learner_ids is not None:
        query = query.where(EvidenceSubmission.learner_id.in_(list(learner_ids)))
    query = query.group_by(EvidenceSubmission.learner_id, EvidenceSubmission.statement_id)
    order = (EvidenceSubmission.learner_id, EvidenceSubmission.statement_id)
    return list(session.execute(query.order_by(*order)))


def waiting_evidence(
    session: Session, link_id: int, learner_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The evidence still waiting for an evaluator, per cell `(learner id, statement id)`, newest
    first (for the grid's "evidence waiting" flag and filter), in one query."""
    waiting: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for item in evidence_submissions(session, link_id, learner_ids=learner_ids, waiting_only=True):
        waiting.setdefault((item["learner_id"], item["statement_id"]), []).append(item)
    return waiting
