"""A bulk save costs a fixed number of SQL statements whatever the number of levels it withdraws:
the xAPI and credential listeners hear the batch's level changes at once, read without flushing,
and write their rows (statements, cancelled requests, revoked credentials) together."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, func, select

from lms_plugin.assessment import services
from lms_plugin.assessment.services import JudgementRequest
from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from lms_plugin.learning_records.recorder import XapiRecorder
from lms_plugin.lti.models import Person, ResourceLink
from tests.courses import Course, placed_course
from tests.lti.platform import LtiPlatform


def judge_counting(app: Flask, course: Course, verdicts: dict[int, str]) -> tuple[int, int]:
    """Judge each learner's every statement (a verdict "... again": the same verdict with a new
    comment, which changes no level), through the xAPI and credential listeners; returns the SQL
    statements it took and the levels withdrawn."""
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
        engine = db.session.get_bind()
        count = 0

        def counted(*_args: object) -> None:
            nonlocal count
            count += 1

        event.listen(engine, "before_cursor_execute", counted)
        try:
            outcome = services.record_judgements(
                db.session, placement, evaluator, requests, listeners
            )
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        db.session.commit()
    return count, sum(e.kind == "withdrawn" for e in outcome.events)


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
