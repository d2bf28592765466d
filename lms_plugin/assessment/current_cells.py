"""Current verdicts kept on write: `current_judgements` holds each judged cell's latest judgement
(a copy of its columns), upserted in the transaction that records it, so the grid reads one row a
cell whatever the length of the cell's history and the size of the judgements table.

Whoever adds judgements calls `keep` after flushing them (`record_judgements`, a placement's move
to a newer framework version); the upsert only ever moves a cell to a newer judgement (higher id),
so rows kept out of order, or twice, still leave the newest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Integer, Row, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from lms_plugin.assessment.models import CurrentJudgement, Judgement

# A judgement's columns but its id: what a current cell copies and a judgement is written with.
COPIED = (
    "resource_link_id",
    "learner_id",
    "statement_id",
    "verdict",
    "comment",
    "evidence_url",
    "show_in_credential",
    "judged_by_id",
    "judged_at",
)

# Judgements kept per statement (on SQLite one bound parameter each, of 32,766 at most).
_CHUNK = 5000


class Recorded(Protocol):
    """A judgement just flushed: an ORM object or a row returned by an INSERT."""

    @property
    def id(self) -> int: ...
    @property
    def resource_link_id(self) -> int: ...
    @property
    def learner_id(self) -> int: ...
    @property
    def statement_id(self) -> int: ...


def keep(session: Session, judgements: Iterable[Recorded]) -> None:
    """Make each cell's newest judgement among `judgements` (flushed: they have ids) its current
    one, unless the cell already has a newer one: an INSERT ... SELECT ... ON CONFLICT per 5,000."""
    newest: dict[tuple[int, int, int], int] = {}
    for j in judgements:
        key = (j.resource_link_id, j.learner_id, j.statement_id)
        newest[key] = max(j.id, newest.get(key, 0))
    if not newest:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [getattr(Judgement, name) for name in COPIED]
    ids = sorted(newest.values())
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if dialect == "postgresql":  # one array, not a parameter per judgement
            where = Judgement.id == any_(bindparam("ids", chunk, type_=ARRAY(Integer)))
        else:
            where = Judgement.id.in_(chunk)
        rows = select(Judgement.id, *columns).where(where)
        upsert = insert(CurrentJudgement).from_select(["judgement_id", *COPIED], rows)
        upsert = upsert.on_conflict_do_update(
            index_elements=["resource_link_id", "learner_id", "statement_id"],
            set_={name: upsert.excluded[name] for name in ("judgement_id", *COPIED[3:])},
            where=CurrentJudgement.judgement_id < upsert.excluded.judgement_id,
        )
        session.execute(upsert)


def current_verdicts(
    session: Session,
    link_id: int,
    learner_ids: Iterable[int] | None = None,
    *,
    details: bool = True,
) -> dict[tuple[int, int], Row[Any]]:
    """The latest judgement of each judged cell `(learner id, statement id)` of a link, in one
    query over `current_judgements` (its primary key leads with the link and learner), as light
    rows (no ORM objects: a grid has thousands). Cleared cells come back with verdict "clear".
    Rows carry `learner_id`, `statement_id`, `verdict` and, with `details`, `id` (the
    judgement's), `comment`, `evidence_url`, `show_in_credential`, `judged_by_id` and
    `judged_at`, in that order."""
    cell = CurrentJudgement
    columns: list[Any] = [cell.learner_id, cell.statement_id, cell.verdict]
    if details:
        columns += [
            cell.judgement_id.label("id"),
            cell.comment,
            cell.evidence_url,
            cell.show_in_credential,
            cell.judged_by_id,
            cell.judged_at,
        ]
    return _cells(session, link_id, learner_ids, columns)


def current_notes(
    session: Session, link_id: int, learner_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], Row[Any]]:
    """What the grid page shows of each judged cell: as `current_verdicts`, but its rows carry
    `learner_id`, `statement_id`, `verdict`, `comment`, `evidence_url` and `show_in_credential`,
    in that order (no time to convert, no judge to name: a page has thousands)."""
    cell = CurrentJudgement
    columns = [
        cell.learner_id,
        cell.statement_id,
        cell.verdict,
        cell.comment,
        cell.evidence_url,
        cell.show_in_credential,
    ]
    return _cells(session, link_id, learner_ids, columns)


def _cells(
    session: Session, link_id: int, learner_ids: Iterable[int] | None, columns: list[Any]
) -> dict[tuple[int, int], Row[Any]]:
    """The `columns` (learner and statement first) of a link's current cells, of `learner_ids`
    (else all), by (learner id, statement id), in one query."""
    cell = CurrentJudgement
    query = select(*columns).where(cell.resource_link_id == link_id)
    if learner_ids is not None:
        wanted = sorted(set(learner_ids))
        if not wanted:
            return {}
        query = query.where(cell.learner_id.in_(wanted))
    if session.autoflush:  # as `session.execute` would; Core rows skip the ORM's loading layer
        session.flush()
    rows = session.connection().execute(query).all()  # one fetch, not one call a row
    return {(row[0], row[1]): row for row in rows}  # (learner_id, statement_id): by position
