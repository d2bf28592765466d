"""The grid's cost stays flat in the length of histories and the size of the judgements table (issue
17): current verdicts come from `current_judgements`, one row a cell kept on write, and the sort
by progress counts again only the learners judged since it last counted. Also what the kept cells
must get right: the newest judgement wins (by the order recorded, whatever its time), clearing,
and levels withdrawn."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lms_plugin.assessment import current_cells, read_models, services
from lms_plugin.assessment.models import CurrentJudgement, Judgement
from lms_plugin.database import db
from lms_plugin.lti.models import ResourceLink
from tests.courses import Course, placed_course
from tests.lti.platform import LtiPlatform
from tests.plans import plan, scans_a_table, statements_of

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def link_id() -> int:
    return db.session.scalars(select(ResourceLink.id)).one()


def judgement(learner: int, statement: int, verdict: str, judge: int, at: dt.datetime) -> Judgement:
    return Judgement(
        resource_link_id=link_id(),
        learner_id=learner,
        statement_id=statement,
        verdict=verdict,
        comment=verdict,
        judged_by_id=judge,
        judged_at=at,
    )


def test_a_kept_cell_moves_only_to_a_newer_judgement(app: Flask, course: Course) -> None:
    learner, judge = course.learners[0].person_id, course.staff.person_id
    statement = course.statements["emerging"][0]
    with app.app_context():
        # Recorded in this order; the second is dated earlier, the third at the same time.
        first, second, third = (
            judgement(learner, statement, "met", judge, AT + dt.timedelta(hours=1)),
            judgement(learner, statement, "not_yet", judge, AT),
            judgement(learner, statement, "met", judge, AT),
        )
        db.session.add_all([first, second])
        db.session.flush()
        current_cells.keep(db.session, [second])
        current_cells.keep(db.session, [first])  # late: does not move the cell back
        assert services.current_verdicts(db.session, link_id())[(learner, statement)].id == (
            second.id
        )
        db.session.add(third)
        db.session.flush()
        current_cells.keep(db.session, [first, third, second])  # one cell twice in a batch
        [row] = services.current_verdicts(db.session, link_id()).values()
        assert (row.id, row.verdict, row.comment, row.judged_at) == (third.id, "met", "met", AT)
        assert db.session.scalar(select(CurrentJudgement.judgement_id)) == third.id


def test_recorded_judgements_keep_the_grid_and_levels_current(app: Flask, course: Course) -> None:
    learner = course.learners[0].person_id
    emerging = course.statements["emerging"]
    assert course.staff.judge((learner, emerging[0], "not_yet")).status_code == 201
    assert course.staff.judge((learner, emerging[0], "met")).status_code == 201
    cells = course.staff.get("/api/v1/grid").json["cells"]
    assert [(c["statement_id"], c["verdict"]) for c in cells] == [(emerging[0], "met")]

    everything = course.staff.judge(*((learner, s, "met") for s in emerging))
    assert everything.json["achieved"], everything.json
    grid = course.staff.get("/api/v1/grid?page=1&sort=progress").json
    most = grid["learners"][-1]
    assert (most["id"], most["achieved"]) == (learner, ["emerging"])

    withdrawn = course.staff.judge((learner, emerging[0], "clear"))
    assert withdrawn.json["withdrawn"], withdrawn.json
    grid = course.staff.get("/api/v1/grid?page=1&sort=progress").json
    assert emerging[0] not in {c["statement_id"] for c in grid["cells"]}
    assert [row["achieved"] for row in grid["learners"]] == [[], []]
    with app.app_context():
        cell = services.current_verdicts(db.session, link_id(), [learner])[(learner, emerging[0])]
        assert cell.verdict == "clear"


def order(course: Course) -> list[int]:
    grid = course.staff.get("/api/v1/grid?page=1&sort=progress").json
    return [row["id"] for row in grid["learners"]]


def test_sort_by_progress_counts_again_only_the_learners_judged_since(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    course = placed_course(app, platform, version_id, learners=3)
    first, second, third = course.learner_ids
    emerging = course.statements["emerging"]
    assert order(course) == [first, second, third]  # nobody has met anything: by name
    course.staff.judge(*((first, s, "met") for s in emerging[:2]))
    assert order(course) == [second, third, first]

    def judged_then_sorted() -> list[int]:
        course.staff.judge(*((second, s, "met") for s in emerging[:3]))
        return order(course)

    seen: list[list[int]] = []
    counts = statements_of(app, lambda: seen.append(judged_then_sorted()), "GROUP BY current_")
    assert seen == [[third, first, second]]
    # Counted for the learner judged since, not for everyone.
    assert all("current_judgements.learner_id IN" in sql for sql, _ in counts), counts
    course.staff.judge((second, emerging[0], "clear"), (second, emerging[1], "not_yet"))
    assert order(course) == [third, second, first]


def test_the_grid_reads_no_judgement_history_and_scans_no_table(app: Flask, course: Course) -> None:
    """Every statement of a grid page that reads verdicts (sorted by progress, filtered by state,
    and by name) goes through `current_judgements`' indexes; only the evidence check probes a
    cell's judgements newer than a submission, through the cell index."""
    learner = course.learners[0].person_id
    for statement in course.statements["emerging"][:3]:
        for verdict in ("met", "not_yet", "met"):
            course.staff.judge((learner, statement, verdict))

    def pages() -> None:
        for query in ("page=1&sort=progress&state=missing-level", "page=1", ""):
            assert course.staff.get(f"/api/v1/grid?{query}").status_code == 200

    caught = statements_of(app, pages, "judgements")
    assert any("FROM current_judgements" in sql for sql, _ in caught)
    for sql, params in caught:
        if "evidence_submissions" not in sql:
            assert "FROM judgements" not in sql, sql
        found = plan(app, sql, params)
        assert not scans_a_table(found), (sql, found)


def test_a_long_history_is_read_one_row_a_cell(app: Flask, course: Course) -> None:
    """Each cell judged 10 times: reading the current verdicts visits one row a cell (PostgreSQL:
    rows the plan's scans return, measured; SQLite: a search of `current_judgements` by key)."""
    learners = course.learner_ids
    statements = course.statements["emerging"][:3]
    for verdict in ("met", "not_yet") * 5:
        course.staff.judge(*((learner, s, verdict) for learner in learners for s in statements))
    with app.app_context():
        assert db.session.query(Judgement).count() == 10 * len(learners) * len(statements)
        found = services.current_verdicts(db.session, link_id())
        assert {row.verdict for row in found.values()} == {"not_yet"} and len(found) == 6

        def read() -> None:
            with app.app_context():
                services.current_verdicts(db.session, link_id())

    [(sql, params)] = statements_of(app, read, "current_judgements")
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert "SEARCH current_judgements USING PRIMARY KEY" in plan(app, sql, params)
        return
    with app.app_context():
        analyzed = db.session.connection().exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params
        )
        tree: Any = analyzed.scalar_one()
        db.session.rollback()
    tree = json.loads(tree) if isinstance(tree, str) else tree
    scans = list(_nodes(tree[0]["Plan"]))
    assert scans and all(node["Relation Name"] == "current_judgements" for node in scans)
    assert sum(node["Actual Rows"] for node in scans) == 6, scans


def _nodes(node: dict[str, Any]) -> Any:
    """The plan's nodes that read a table."""
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_a_judgement_committed_after_a_newer_one_is_counted_within_the_recount_time(
    app: Flask, platform: LtiPlatform, version_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a transaction may commit its judgements after a newer one was counted: the
    counts of learners judged since pass them over, and everyone is counted again in time."""
    course = placed_course(app, platform, version_id, learners=2)
    first, second = course.learner_ids
    emerging = course.statements["emerging"]
    with app.app_context():
        judge = course.staff.person_id
        late = [judgement(first, s, "met", judge, AT) for s in emerging[:2]]
        db.session.add_all(late)  # their ids come first ...
        db.session.commit()
        late_ids = [j.id for j in late]
    course.staff.judge((second, emerging[0], "met"))
    assert order(course) == [first, second]  # 0 met against 1
    with app.app_context():  # ... their cells are kept only now
        current_cells.keep(db.session, db.session.scalars(select(Judgement).where(
            Judgement.id.in_(late_ids))).all())  # fmt: skip
        db.session.commit()
    course.staff.judge((second, emerging[2], "not_yet"))
    assert order(course) == [first, second]  # not counted yet
    clock = time.monotonic() + read_models._RECOUNT_AFTER
    monkeypatch.setattr(read_models.time, "monotonic", lambda: clock)
    assert order(course) == [second, first]  # everyone counted again: 1 met against 2


def test_the_overview_is_counted_by_the_database(app: Flask, course: Course) -> None:
    """The cohort overview reads counts per statement, not a row per cell; cleared cells count
    for nothing."""
    first, second = course.learner_ids
    a, b = course.statements["emerging"][:2]
    course.staff.judge((first, a, "met"), (second, a, "met"), (first, b, "met"))
    course.staff.judge((second, a, "clear"), (first, b, "not_yet"))
    found: list[Any] = []

    def count() -> None:
        with app.app_context():
            placement = services.load_placement(db.session, db.session.get(ResourceLink, link_id()))
            assert placement is not None
            found.append(read_models.cohort_counts(db.session, placement))

    caught = statements_of(app, count, "current_judgements")
    counts, total = found[0]
    assert total == 2 and counts[a] == {"met": 1, "not_yet": 0}
    assert counts[b] == {"met": 0, "not_yet": 1}
    assert all("GROUP BY" in sql for sql, _ in caught), caught
    page = course.staff.client.get(f"/launch/{course.staff.launch_id}/overview")
    assert "50% (1)" in page.get_data(as_text=True)
