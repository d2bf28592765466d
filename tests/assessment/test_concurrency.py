"""Evaluators judging at the same moment (run on PostgreSQL and SQLite): judging is serialized per
learner and placement, so no level is lost or achieved twice, every superseded judgement's
statement is voided exactly once, and a race never answers 500."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.test import TestResponse

from bench.concurrency import Counts, audit, run
from lms_plugin import create_app, migrate
from lms_plugin.assessment import services
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.assessment.services import JudgementRequest
from lms_plugin.database import db, make_engine
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from lms_plugin.lti.models import Person, ResourceLink
from lms_plugin.orm import utcnow
from tests.builders import SEED_FILES as SEEDS
from tests.conftest import BACKENDS, POSTGRES_URL, TemporaryDatabase
from tests.courses import Course, Session, launch_as, placed_course
from tests.lti.platform import KeySetServer, LtiPlatform

ROUNDS = 10


def second_evaluator(app: Flask, platform: LtiPlatform, version_id: int) -> Session:
    """Another teacher of the course `placed_course` made, through a launch of the same link."""
    return launch_as(
        app,
        platform,
        "course-1-teacher-2",
        "Teacher 2",
        True,
        **{
            claims.CUSTOM: {"framework": str(version_id), "levels": "emerging,developing"},
            claims.CONTEXT: {"id": "course-1", "title": "Course course-1"},
        },
    )


def at_once(*calls: Callable[[], TestResponse]) -> list[TestResponse]:
    """Run the calls in threads released together; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def call(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[index] = calls[index]()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return answers


def active_levels(app: Flask, learner_id: int) -> list[int]:
    with app.app_context():
        link = db.session.query(ResourceLink).one()
        return sorted(
            a.level_id for a in services.active_achievements(db.session, link.id, [learner_id])
        )


def assert_consistent(app: Flask) -> None:
    """Nothing lost or duplicated; every superseded judgement voided exactly once."""
    counts = Counts()
    with app.app_context():
        audit(db.session, app.config["BASE_URL"], counts)
    assert counts.anomalies() == Counts().anomalies()


def achieved(answers: list[TestResponse]) -> list[Any]:
    assert [a.status_code for a in answers] == [201] * len(answers), [a.json for a in answers]
    return [item for answer in answers for item in answer.json["achieved"]]


@pytest.fixture
def two(app: Flask, platform: LtiPlatform, version_id: int) -> tuple[Course, Session]:
    return placed_course(app, platform, version_id), second_evaluator(app, platform, version_id)


def test_two_evaluators_meeting_a_learners_last_two_statements(
    app: Flask, two: tuple[Course, Session]
) -> None:
    course, other = two
    learner = course.learner_ids[0]
    *first, one, last = course.statements["emerging"]
    assert course.staff.judge(*((learner, s, "met") for s in first)).status_code == 201
    for _ in range(ROUNDS):
        answers = at_once(
            lambda: course.staff.judge((learner, one, "met")),
            lambda: other.judge((learner, last, "met")),
        )
        assert achieved(answers) == [{"learner_id": learner, "level": "emerging"}]
        assert len(active_levels(app, learner)) == 1
        undo = course.staff.judge((learner, one, "not_yet"), (learner, last, "not_yet"))
        assert undo.json["withdrawn"] == [{"learner_id": learner, "level": "emerging"}]
    assert active_levels(app, learner) == []
    assert_consistent(app)


def test_two_evaluators_meeting_the_same_last_statement(
    app: Flask, two: tuple[Course, Session]
) -> None:
    course, other = two
    learner = course.learner_ids[0]
    *first, last = course.statements["emerging"]
    assert course.staff.judge(*((learner, s, "met") for s in first)).status_code == 201
    for _ in range(ROUNDS):
        answers = at_once(
            lambda: course.staff.judge((learner, last, "met")),
            lambda: other.judge((learner, last, "met")),
        )
        assert achieved(answers) == [{"learner_id": learner, "level": "emerging"}]
        # The second to get the lock found the cell met already: nothing recorded for it.
        assert sorted(len(answer.json["unchanged"]) for answer in answers) == [0, 1]
        assert len(active_levels(app, learner)) == 1
        assert course.staff.judge((learner, last, "not_yet")).json["withdrawn"]
    history = course.staff.get(
        "/api/v1/judgements", query_string={"learner_id": learner, "statement_id": last}
    ).json["judgements"]
    assert len(history) == 2 * ROUNDS
    assert_consistent(app)


def test_batches_naming_learners_in_opposite_orders(
    app: Flask, two: tuple[Course, Session]
) -> None:
    """Locks are taken in one order whatever the batch's order: no deadlock, no error."""
    course, other = two
    a, b = course.learner_ids
    statements = course.statements["emerging"]
    for round_ in range(ROUNDS):
        verdict = "met" if round_ % 2 == 0 else "not_yet"
        forward = [(x, s, verdict) for x in (a, b) for s in statements]
        backward = [(x, s, verdict) for x in (b, a) for s in statements]
        answers = at_once(partial(course.staff.judge, *forward), partial(other.judge, *backward))
        assert [answer.status_code for answer in answers] == [201, 201]
        expected = 1 if verdict == "met" else 0
        assert (len(active_levels(app, a)), len(active_levels(app, b))) == (expected, expected)
    assert_consistent(app)


def test_a_rule_change_while_an_evaluator_judges(app: Flask, two: tuple[Course, Session]) -> None:
    """The roll-up uses the rule as committed when it holds the lock, never one read before."""
    course, other = two
    learner = course.learner_ids[0]
    *first, one, last = course.statements["emerging"]
    assert course.staff.judge(*((learner, s, "met") for s in first)).status_code == 201
    rule_page = f"/launch/{course.staff.launch_id}/rule"
    for round_ in range(ROUNDS):
        threshold = "80" if round_ % 2 == 0 else "100"
        form = {"csrf_token": course.staff.csrf, "threshold_percent": threshold}
        verdict = "met" if round_ % 4 < 2 else "not_yet"
        rule, judged = at_once(
            partial(course.staff.client.post, rule_page, data=form),
            partial(other.judge, (learner, one, verdict)),
        )
        assert (rule.status_code, judged.status_code) == (303, 201)
        assert_consistent(app)


def test_concurrent_service_calls_keep_both_judgements(app: Flask, course: Course) -> None:
    """Two evaluators judging the same cell through the service: both are kept in the history
    and the later one is current."""
    learner = course.learner_ids[0]
    statement = course.statements["emerging"][0]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def judge(verdict: str) -> None:
        try:
            with app.app_context():
                link = db.session.query(ResourceLink).one()
                placement = services.load_placement(db.session, link)
                assert placement is not None
                evaluator = db.session.get(Person, course.staff.person_id)
                assert evaluator is not None
                barrier.wait(timeout=10)
                services.record_judgements(
                    db.session,
                    placement,
                    evaluator,
                    [JudgementRequest(learner, statement, verdict)],
                    app.extensions["assessment_listeners"],
                )
                db.session.commit()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=judge, args=(v,)) for v in ("met", "not_yet")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []

    history = course.staff.get(
        "/api/v1/judgements", query_string={"learner_id": learner, "statement_id": statement}
    ).json["judgements"]
    assert sorted(j["verdict"] for j in history) == ["met", "not_yet"]
    later = max(history, key=lambda j: j["id"])
    [cell] = [
        c
        for c in course.staff.get("/api/v1/grid").json["cells"]
        if (c["learner_id"], c["statement_id"]) == (learner, statement)
    ]
    assert cell["verdict"] == later["verdict"]
    assert_consistent(app)


def test_one_active_achievement_per_learner_placement_and_level(app: Flask, course: Course) -> None:
    """The database itself refuses a second active achievement (withdrawn ones may repeat)."""
    learner = course.learner_ids[0]
    with app.app_context():
        link = db.session.query(ResourceLink).one()
        placement = services.load_placement(db.session, link)
        assert placement is not None
        level = placement.levels[0]

        def achievement(withdrawn: bool) -> LevelAchievement:
            return LevelAchievement(
                resource_link_id=link.id,
                learner_id=learner,
                level_id=level.id,
                withdrawn_at=utcnow() if withdrawn else None,
            )

        db.session.add_all([achievement(True), achievement(True), achievement(False)])
        db.session.commit()
        db.session.add(achievement(False))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_upgrade_withdraws_duplicates_left_by_earlier_races(
    empty_database: TemporaryDatabase,
    tmp_path: Path,
    platform_key: rsa.RSAPrivateKey,
    keyset: KeySetServer,
) -> None:
    """A database where a race recorded a level twice upgrades: the earliest stays active."""
    engine = make_engine(empty_database.url)
    migrate.upgrade(engine)
    app = create_app(
        {
            "DATABASE_URL": empty_database.url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "BASE_URL": "http://tool.test",
        }
    )
    try:
        platform = LtiPlatform(platform_key, keyset)
        platform.register(app)
        with app.app_context():
            imported = frameworks.import_frameworks(db.session, map(read_framework_file, SEEDS))
            db.session.commit()
        course = placed_course(app, platform, imported[0].version.id)
        learner = course.learner_ids[0]
        course.staff.judge(*((learner, s, "met") for s in course.statements["emerging"]))
        migrate.downgrade(engine, "20261122_credentials")
        columns = "resource_link_id, learner_id, level_id, achieved_at"
        with engine.begin() as connection:
            connection.execute(
                sql(
                    f"INSERT INTO level_achievements ({columns}) "
                    f"SELECT {columns} FROM level_achievements"
                )
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sql("SELECT withdrawn_at IS NULL FROM level_achievements ORDER BY id")
            ).all()
        assert [bool(active) for (active,) in rows] == [True, False]
    finally:
        app.extensions["database"].kw["bind"].dispose()
        engine.dispose()


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_race_is_retried_and_never_answers_500(
    app: Flask, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services.record_judgements
    calls = 0

    def deadlocked_twice(*args: Any, **kwargs: Any) -> services.Outcome:
        nonlocal calls
        calls += 1
        if calls <= 2:
            real(*args, **kwargs)  # written, then lost with the rolled-back attempt
            raise OperationalError("SELECT 1", {}, _Deadlock())
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "record_judgements", deadlocked_twice)
    learner = course.learner_ids[0]
    statement = course.statements["emerging"][0]
    answer = course.staff.judge((learner, statement, "met"))
    assert answer.status_code == 201
    assert calls == 3
    history = course.staff.get("/api/v1/judgements", query_string={"learner_id": learner})
    assert [j["verdict"] for j in history.json["judgements"]] == ["met"]

    def always_deadlocked(*_args: Any, **_kwargs: Any) -> services.Outcome:
        raise OperationalError("SELECT 1", {}, _Deadlock())

    monkeypatch.setattr(services, "record_judgements", always_deadlocked)
    answer = course.staff.judge((learner, statement, "not_yet"))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "try again" in answer.json["message"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_evaluators_against_a_served_app(backend: str) -> None:
    """The concurrency bench, short: 20 evaluators for 5 s over HTTP, every count 0."""
    counts = run(backend, clients=20, seconds=5, postgres_url=POSTGRES_URL)
    print(counts)
    assert counts.requests > 50
    assert counts.anomalies() == Counts().anomalies()
