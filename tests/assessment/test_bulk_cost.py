"""A bulk save costs a fixed number of SQL statements whatever the number of levels it withdraws:
the xAPI and credential listeners hear the batch's level changes at once, read without flushing,
and write their rows (statements, cancelled requests, revoked credentials) together."""

from __future__ import annotations

from functools import partial

from flask import Flask
from sqlalchemy import func, select

from lms_plugin.assessment import services
from lms_plugin.assessment.models import CurrentJudgement, Judgement
from lms_plugin.assessment.services import JudgementRequest
from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from lms_plugin.learning_records.recorder import XapiRecorder
from lms_plugin.lti.models import Person, ResourceLink, ScoreOutbox
from tests.courses import Course, placed_course
from tests.lti.platform import LtiPlatform
from tests.plans import plan, scans_a_table, statements_of
from tests.sql_sent import sql_sent


def judge_counting(
    app: Flask, course: Course, verdicts: dict[int, str], every_listener: bool = False
) -> tuple[int, int]:
    """Judge each learner's every statement (a verdict "... again": the same verdict with a new
    comment, which changes no level), through the xAPI and credential listeners (or all the
    app's); returns the SQL statements it took and the levels withdrawn."""
    statement_ids = [s for ids in course.statements.values() for s in ids]
    requests = [
        JudgementRequest(
            learner,
            statement,
            verdict.split()[0],
            comment=verdict,
        )
        for learner, verdict in verdicts.items()
        for statement in statement_ids
    ]
    with app.app_context():
        link = db.session.scalars(select(ResourceLink)).one()
        placement = services.load_placement(db.session, link)
        assert placement is not None
        evaluator = db.session.get(Person, course.staff.person_id)
        listeners = [app.extensions["credential_issuer"], *_xapi(app)]
        if every_listener:
            listeners = list(app.extensions["assessment_listeners"])
        with sql_sent(db.engine) as sent:
            outcome = services.record_judgements(
                db.session, placement, evaluator, requests, listeners
            )
        db.session.commit()
    return len(sent), sum(e.kind == "withdrawn" for e in outcome.events)


def _xapi(app: Flask) -> list[services.AssessmentListener]:
    return [x for x in app.extensions["assessment_listeners"] if isinstance(x, XapiRecorder)]


def test_withdrawals_do_not_add_sql_statements(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    course = placed_course(app, platform, version_id, learners=4)
    first, *others = course.learner_ids
    judge_counting(app, course, dict.fromkeys(course.learner_ids, "met"))
    with app.app_context():  # the worker signs the credentials of the levels achieved
        app.extensions["credential_issuer"].issue_pending(db.session)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Credential)) == 8

    few, few_withdrawn = judge_counting(
        app, course, {first: "not_yet", **dict.fromkeys(others, "met again")}
    )
    many, many_withdrawn = judge_counting(
        app, course, {first: "not_yet again", **dict.fromkeys(others, "not_yet")}
    )

    assert (few_withdrawn, many_withdrawn) == (2, 6)
    assert many == few
    with app.app_context():
        revoked = db.session.scalars(select(Credential.revoked_at)).all()
        assert all(at is not None for at in revoked)


def test_judgements_do_not_add_sql_statements(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    """The judgements go in with one statement (explicit ids), not one each (SQLite)."""
    course = placed_course(app, platform, version_id, learners=4)
    first, *others = course.learner_ids
    one, _ = judge_counting(app, course, {first: "met"})
    four, _ = judge_counting(app, course, {first: "met again", **dict.fromkeys(others, "met")})
    assert four == one
    with app.app_context():
        ids = db.session.scalars(select(Judgement.id).order_by(Judgement.id)).all()
        current = db.session.scalars(select(CurrentJudgement.judgement_id)).all()
    per_learner = len(ids) // 5
    assert len(ids) == 5 * per_learner and ids == list(range(ids[0], ids[0] + len(ids)))
    assert sorted(current) == ids[per_learner:]  # the second batch is current everywhere


def test_level_changes_write_their_scores_in_one_statement(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    course = placed_course(app, platform, version_id, learners=4)
    achieve = partial(
        judge_counting, app, course, dict.fromkeys(course.learner_ids, "met"), every_listener=True
    )
    inserts = statements_of(app, achieve, "INSERT INTO score_outbox")
    assert len(inserts) == 1
    with app.app_context():
        rows = db.session.scalars(select(ScoreOutbox).order_by(ScoreOutbox.id)).all()
    assert [(r.learner_id, r.score_given, r.comment.split(":")[0]) for r in rows] == [
        (learner, float(held), "Achieved") for learner in course.learner_ids for held in (2, 2)
    ]


def test_withdrawals_find_requests_and_credentials_by_index(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    """Cancelling the queued requests and revoking the credentials of withdrawn achievements
    reads them through an index on `achievement_id`, not the whole table."""
    course = placed_course(app, platform, version_id, learners=2)
    judge_counting(app, course, dict.fromkeys(course.learner_ids, "met"))
    with app.app_context():
        app.extensions["credential_issuer"].issue_pending(db.session)
        db.session.commit()
    judge_counting(app, course, dict.fromkeys(course.learner_ids, "met again"))  # queued again
    withdraw = partial(judge_counting, app, course, dict.fromkeys(course.learner_ids, "not_yet"))
    caught = statements_of(app, withdraw, "achievement_id IN")
    requests = next(
        caught_sql for caught_sql in caught if "UPDATE credential_requests" in caught_sql[0]
    )
    credentials = next(caught_sql for caught_sql in caught if "FROM credentials" in caught_sql[0])
    # PostgreSQL may read the requests through the (small) partial index of queued ones instead.
    assert not scans_a_table(plan(app, *requests))
    found = plan(app, *credentials)
    assert "ix_credentials_achievement_id" in found, found


def test_a_bulk_save_reads_the_cells_once(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    """The cells are read once, under the lock: the roll-up and the voiding of superseded
    judgements' statements use what that read found, not reads of their own."""
    course = placed_course(app, platform, version_id, learners=2)
    judge_counting(app, course, dict.fromkeys(course.learner_ids, "met"))
    again = partial(judge_counting, app, course, dict.fromkeys(course.learner_ids, "not_yet"))
    caught = statements_of(app, again, "judgements")
    reads = [
        sql
        for sql, _ in caught
        if sql.lstrip().startswith("SELECT") and "max(judgements.id)" not in sql  # SQLite's ids
    ]
    assert len(reads) == 1 and "FROM current_judgements" in reads[0], reads
