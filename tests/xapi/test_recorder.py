"""Judging through the API writes the outbox rows in the same transaction: one statement per
judgement, voiding for superseded judgements and withdrawn levels, one per level achieved."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select, update

from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.database import db
from lms_plugin.lti.models import Course as CourseRow
from lms_plugin.lti.models import Deployment, Person
from tests.courses import Course, placed_course
from tests.lti.platform import LtiPlatform
from tests.xapi.conftest import by_verb, outbox, statements
from xapi import statements as x
from xapi.statements import StatementFactory


def test_each_judgement_is_queued_with_its_statement(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    response = course.staff.judge(
        (learner, statement, "met"), comment="Well done", evidence_url="https://ev.example/1"
    )
    assert response.status_code == 201

    [row] = outbox(app)
    assert row.state == "queued" and row.attempts == 0
    payload = json.loads(row.payload)
    assert payload["id"] == row.statement_id
    with app.app_context():
        judgement = db.session.scalars(select(Judgement)).one()
        learner_row = db.session.get(Person, learner)
        course_row = db.session.scalars(select(CourseRow)).one()
        deployment = db.session.get(Deployment, course_row.deployment_id)
        assert (row.platform_id, row.deployment_id) == (course_row.platform_id, deployment.id)
        expected_id = StatementFactory("http://tool.test").judgement_statement_id(
            judgement.id, judgement.judged_at
        )
        assert row.statement_id == expected_id
        assert payload["actor"]["account"] == {
            "homePage": learner_row.issuer,
            "name": learner_row.sub,
        }
        assert payload["timestamp"] == x.format_timestamp(judgement.judged_at)
        context = payload["context"]
        assert context["extensions"][x.LTI_DEPLOYMENT_ID] == deployment.deployment_id
        assert context["extensions"][x.LTI_CONTEXT]["id"] == "course-1"
    assert (
        payload["object"]["id"]
        == f"http://tool.test/frameworks/{course.version_id}#statement-{statement}"
    )
    assert payload["result"]["response"] == "Well done"
    assert payload["result"]["extensions"] == {x.EVIDENCE: ["https://ev.example/1"]}


def test_a_refused_request_queues_nothing(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    response = course.staff.judge((learner, statement, "met"), (learner, statement, "maybe"))
    assert response.status_code == 400
    assert outbox(app) == []


def test_a_newer_judgement_voids_the_one_it_supersedes(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    course.staff.judge((learner, statement, "not_yet"))
    course.staff.judge((learner, statement, "met"))
    first, void, second = statements(app)
    assert void["verb"]["id"] == x.VOIDED
    assert void["object"] == {"objectType": "StatementRef", "id": first["id"]}
    assert void["timestamp"] == second["timestamp"]
    assert (first["result"]["success"], second["result"]["success"]) == (False, True)

    course.staff.judge((learner, statement, "clear"))
    *_, clear_void = statements(app)
    assert len(statements(app)) == 4, "a clear writes only the voiding statement"
    assert clear_void["object"]["id"] == second["id"]

    course.staff.judge((learner, statement, "clear"))
    assert len(statements(app)) == 4, "nothing left to void"
    course.staff.judge((learner, statement, "met"))
    assert len(statements(app)) == 5


def test_the_same_cell_twice_in_one_request(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    course.staff.judge((learner, statement, "met"), (learner, statement, "not_yet"))
    first, void, second = statements(app)
    assert void["object"]["id"] == first["id"]
    assert second["result"]["success"] is False


def test_levels_achieved_and_withdrawn(app: Flask, course: Course) -> None:
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    response = course.staff.judge(*[(learner, s, "met") for s in emerging])
    assert response.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]
    sent = statements(app)
    [level] = [s for s in by_verb(sent, x.ACHIEVED) if "#level-" in s["object"]["id"]]
    assert level["result"] == {"success": True, "completion": True}
    assert level["context"]["instructor"]["account"]["name"] == "course-1-teacher"
    with app.app_context():
        achievement = db.session.scalars(select(LevelAchievement)).one()
        factory = StatementFactory("http://tool.test")
        assert level["id"] == factory.level_statement_id(achievement.id, achievement.achieved_at)
        assert level["object"]["id"].endswith(f"#level-{achievement.level_id}")

    course.staff.judge((learner, emerging[3], "not_yet"))
    voids = by_verb(statements(app), x.VOIDED)
    assert {v["object"]["id"] for v in voids} >= {level["id"]}
    assert len(voids) == 2  # the superseded "met" and the withdrawn level


def test_every_row_of_a_bulk_request_is_written(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    course = placed_course(app, platform, version_id, context_id="course-2", learners=3)
    items = [
        (learner, s, "met") for learner in course.learner_ids for s in course.statements["emerging"]
    ]
    assert course.staff.judge(*items).status_code == 201
    rows = outbox(app)
    judged = [r for r in rows if "#statement-" in json.loads(r.payload)["object"].get("id", "")]
    assert len(judged) == len(items)
    assert len(rows) == len(items) + 3  # and one level each (credentials come after commit)
    assert len({r.statement_id for r in rows}) == len(rows)


def test_e_mail_is_used_only_when_configured(
    make_app: Callable[..., Flask], platform: LtiPlatform, version_id: int
) -> None:
    app = make_app(XAPI_INCLUDE_EMAIL="1")
    platform.register(app)
    course = placed_course(app, platform, version_id, learners=1)
    learner = course.learner_ids[0]
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == learner).values(email="l@example.edu"))
        db.session.commit()
    course.staff.judge((learner, course.statements["emerging"][0], "met"))
    [statement] = statements(app)
    assert statement["actor"]["mbox"] == "mailto:l@example.edu"
    assert "account" not in statement["actor"]


def test_the_outbox_rows_roll_back_with_the_judgements(app: Flask, course: Course) -> None:
    class Failing:
        def judged(self, *_args: object) -> None:
            raise RuntimeError("a later listener fails")

        def level_changed(self, *_args: object) -> None:
            pass

    app.extensions["assessment_listeners"].append(Failing())
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    response = course.staff.judge((learner, statement, "met"))
    assert response.status_code == 500
    assert outbox(app) == []
    with app.app_context():
        assert db.session.scalars(select(Judgement)).all() == []


def test_a_rule_change_records_levels_without_an_evaluator(app: Flask, course: Course) -> None:
    from lms_plugin.assessment import services
    from lms_plugin.assessment.rules import LevelRule
    from lms_plugin.lti.models import ResourceLink

    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    course.staff.judge(*[(learner, s, "met") for s in emerging[:5]])
    with app.app_context():
        link = db.session.scalars(select(ResourceLink)).one()
        placement = services.load_placement(db.session, link)
        assert placement is not None
        listeners = app.extensions["assessment_listeners"]
        events = services.change_rule(db.session, placement, LevelRule(50, False), listeners)
        db.session.commit()
        assert [e.kind for e in events] == ["achieved"]
        events = services.change_rule(db.session, placement, LevelRule(100, False), listeners)
        db.session.commit()
        assert [e.kind for e in events] == ["withdrawn"]
    recorded = statements(app)
    [level] = [
        s
        for s in recorded
        if s["object"].get("id", "").endswith(f"#level-{events[0].level.id}")
        and s["verb"]["id"].endswith("/achieved")
    ]
    void = recorded[-1]
    assert "instructor" not in level["context"]
    assert void["object"]["id"] == level["id"]
    assert void["actor"]["account"] == {"homePage": "http://tool.test", "name": "tool"}


def test_the_credentials_service_can_queue_a_credential_statement(
    app: Flask, course: Course
) -> None:
    from lms_plugin.assessment import services
    from lms_plugin.learning_records.recorder import XapiRecorder
    from lms_plugin.lti.models import ResourceLink
    from lms_plugin.orm import utcnow

    learner = course.learner_ids[0]
    with app.app_context():
        link = db.session.scalars(select(ResourceLink)).one()
        placement = services.load_placement(db.session, link)
        assert placement is not None
        [recorder] = [
            r for r in app.extensions["assessment_listeners"] if isinstance(r, XapiRecorder)
        ]
        built = recorder.credential_issued(
            db.session,
            placement,
            learner,
            placement.levels[0],
            "http://tool.test/credentials/abc",
            utcnow(),
        )
        db.session.commit()
    [row] = outbox(app)
    assert row.statement_id == built.id and row.payload == built.payload
    statement = json.loads(row.payload)
    assert statement["verb"]["id"] == x.EARNED
    assert statement["result"]["extensions"][x.BADGE_ASSERTION] == {
        "@id": "http://tool.test/credentials/abc"
    }
    assert statement["context"]["extensions"][x.LTI_CONTEXT]["id"] == "course-1"
