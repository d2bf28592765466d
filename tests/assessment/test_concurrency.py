"""Two evaluators judging the same cell at the same moment: both judgements are kept in the
history and the later one is current (run on PostgreSQL and SQLite)."""

from __future__ import annotations

import threading

from flask import Flask

from lms_plugin.assessment import services
from lms_plugin.assessment.services import JudgementRequest
from lms_plugin.database import db
from lms_plugin.lti.models import Person, ResourceLink
from tests.courses import Course


def test_concurrent_judgements_of_one_cell_are_both_kept(app: Flask, course: Course) -> None:
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
