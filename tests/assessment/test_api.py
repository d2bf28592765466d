"""The judging API: judgements, roll-up, history, progress, exports, and every authorization rule
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy import func, select

from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.database import db
from lms_plugin.lti.models import ScoreOutbox
from tests.courses import Course, launch_as, placed_course
from tests.lti.platform import LtiPlatform


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_judging_every_statement_of_a_level_achieves_it_and_queues_a_score(
    app: Flask, course: Course
) -> None:
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    first = course.staff.judge(
        *[(learner, s, "met") for s in emerging[:-1]], comment="Seen in practice"
    )
    assert first.status_code == 201, first.json
    assert first.json["achieved"] == [] and len(first.json["judgements"]) == 9

    last = course.staff.judge((learner, emerging[-1], "met"))
    assert last.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]

    grid = course.staff.get("/api/v1/grid").json
    assert {(c["learner_id"], c["statement_id"]) for c in grid["cells"]} == {
        (learner, s) for s in emerging
    }
    assert all(c["verdict"] == "met" and c["judged_by"] == "Teacher" for c in grid["cells"])
    assert {p["id"]: p["achieved"] for p in grid["learners"]} == {
        course.learner_ids[0]: ["emerging"],
        course.learner_ids[1]: [],
    }
    assert [lvl["key"] for lvl in grid["levels"]] == ["emerging", "developing"]
    with app.app_context():
        [score] = db.session.scalars(select(ScoreOutbox)).all()
        assert (score.learner_id, score.score_given, score.score_maximum) == (learner, 1, 2)
        assert score.state == "queued" and "Achieved: Emerging" in score.comment


def test_a_reversal_withdraws_the_level_and_history_keeps_everything(
    app: Flask, course: Course
) -> None:
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    course.staff.judge(*[(learner, s, "met") for s in emerging])

    reversal = course.staff.judge((learner, emerging[3], "not_yet"), comment="Missed a deadline")
    assert reversal.json["withdrawn"] == [{"learner_id": learner, "level": "emerging"}]
    cleared = course.staff.judge((learner, emerging[3], "clear"))
    assert cleared.status_code == 201

    history = course.staff.get(
        "/api/v1/judgements", query_string={"learner_id": learner, "statement_id": emerging[3]}
    ).json["judgements"]
    assert [j["verdict"] for j in history] == ["clear", "not_yet", "met"]
    assert history[1]["comment"] == "Missed a deadline"
    grid = course.staff.get("/api/v1/grid").json
    assert (learner, emerging[3]) not in {
        (c["learner_id"], c["statement_id"]) for c in grid["cells"]
    }
    with app.app_context():
        achievements = db.session.scalars(select(LevelAchievement)).all()
        assert len(achievements) == 1 and achievements[0].withdrawn_at is not None
        assert db.session.scalar(select(func.count()).select_from(Judgement)) == 12
        assert db.session.scalar(select(func.count()).select_from(ScoreOutbox)) == 2

    again = course.staff.judge((learner, emerging[3], "met"))
    assert again.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]
    assert count(app, LevelAchievement) == 2


def test_one_bad_item_refuses_the_whole_batch_naming_its_index(app: Flask, course: Course) -> None:
    learner = course.learner_ids[0]
    good = (learner, course.statements["emerging"][0], "met")
    out_of_scope = course.statements["emerging"][0] + 1000
    for items, index in (
        ([good, (learner, out_of_scope, "met")], 1),
        ([good, good, (course.staff.person_id, course.statements["emerging"][1], "met")], 2),
        ([(learner, course.statements["emerging"][1], "maybe"), good], 0),
    ):
        response = course.staff.judge(*items)
        assert response.status_code in (400, 422), response.json
        assert response.json["index"] == index, response.json
    bad_url = course.staff.judge(good, evidence_url="javascript:alert(1)")
    assert bad_url.status_code == 422
    assert course.staff.post("/api/v1/judgements", {"judgements": []}).status_code == 400
    assert course.staff.post("/api/v1/judgements", {"nope": 1}).status_code == 400
    assert count(app, Judgement) == 0


def test_learners_get_only_their_own_progress_and_no_staff_endpoint(
    app: Flask, course: Course
) -> None:
    me, other = course.learners
    course.staff.judge((me.person_id, course.statements["emerging"][0], "met"), comment="Good")
    mine = me.get("/api/v1/progress").json
    assert mine["learner"]["id"] == me.person_id
    first = mine["levels"][0]["statements"][0]
    assert first == {
        "id": course.statements["emerging"][0],
        "text": first["text"],
        "verdict": "met",
        "comment": "Good",
        "evidence_url": None,
        "judged_at": first["judged_at"],
    }
    assert mine["levels"][0]["statements"][1]["verdict"] == "pending"
    assert (
        me.get("/api/v1/progress", query_string={"learner_id": other.person_id}).status_code == 403
    )
    for path in (
        "/api/v1/grid",
        "/api/v1/judgements",
        "/api/v1/export/grid.csv",
        "/api/v1/export/history.csv",
    ):
        assert me.get(path).status_code == 403, path
    before = count(app, Judgement)
    assert me.judge((me.person_id, course.statements["emerging"][1], "met")).status_code == 403
    assert count(app, Judgement) == before

    staff_view = course.staff.get("/api/v1/progress", query_string={"learner_id": me.person_id})
    assert staff_view.status_code == 200 and staff_view.json["learner"]["id"] == me.person_id


def test_staff_of_one_course_cannot_touch_another(
    app: Flask, platform: LtiPlatform, course: Course
) -> None:
    other = placed_course(app, platform, course.version_id, context_id="course-2", learners=1)
    foreign_learner = other.learner_ids[0]
    statement = course.statements["emerging"][0]
    response = course.staff.judge((foreign_learner, statement, "met"))
    assert response.status_code == 422 and response.json["index"] == 0
    assert (
        course.staff.get(
            "/api/v1/judgements", query_string={"learner_id": foreign_learner}
        ).status_code
        == 403
    )
    assert (
        course.staff.get(
            "/api/v1/progress", query_string={"learner_id": foreign_learner}
        ).status_code
        == 403
    )
    grid = course.staff.get("/api/v1/grid").json
    assert foreign_learner not in {p["id"] for p in grid["learners"]}
    # The other course's launch id does not work from this browser.
    stolen = course.staff.client.get(
        "/api/v1/grid", headers={"X-LTI-Launch-Id": other.staff.launch_id}
    )
    assert stolen.status_code == 403
    assert count(app, Judgement) == 0


def test_state_changes_need_the_csrf_token_and_a_launch(app: Flask, course: Course) -> None:
    item = {
        "learner_id": course.learner_ids[0],
        "statement_id": course.statements["emerging"][0],
        "verdict": "met",
    }
    no_csrf = course.staff.client.post(
        "/api/v1/judgements",
        headers={"X-LTI-Launch-Id": course.staff.launch_id},
        json={"judgements": [item]},
    )
    assert no_csrf.status_code == 403
    no_launch = course.staff.client.post(
        "/api/v1/judgements",
        headers={"X-CSRFToken": course.staff.csrf},
        json={"judgements": [item]},
    )
    assert no_launch.status_code == 403
    assert app.test_client().get("/api/v1/grid").status_code == 403
    assert count(app, Judgement) == 0


def test_csv_exports_of_grid_and_history_are_safe_for_spreadsheets(
    app: Flask, course: Course
) -> None:
    learner = course.learner_ids[0]
    course.staff.judge(
        (learner, course.statements["emerging"][0], "met"), comment='=HYPERLINK("x")'
    )
    grid = course.staff.get("/api/v1/export/grid.csv")
    assert grid.status_code == 200 and grid.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(grid.get_data(as_text=True))))
    assert rows[0][:3] == ["learner_id", "learner", "levels_achieved"]
    assert len(rows[0]) == 3 + 20 and len(rows) == 3
    history = list(
        csv.reader(
            io.StringIO(course.staff.get("/api/v1/export/history.csv").get_data(as_text=True))
        )
    )
    assert history[1][6:8] == ["met", '\'=HYPERLINK("x")']


def test_a_learner_who_only_appears_in_the_roster_can_be_judged(
    app: Flask, platform: LtiPlatform, course: Course
) -> None:
    late = launch_as(app, platform, "course-1-learner-late", "Late Learner", False)
    response = course.staff.judge((late.person_id, course.statements["developing"][0], "not_yet"))
    assert response.status_code == 201


def test_staff_change_the_rule_and_levels_are_recomputed(app: Flask, course: Course) -> None:
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    course.staff.judge(*[(learner, s, "met") for s in emerging[:8]])
    assert course.staff.get("/api/v1/grid").json["learners"][0]["achieved"] == []
    page = f"/launch/{course.staff.launch_id}"

    response = course.staff.client.post(
        f"{page}/rule", data={"csrf_token": course.staff.csrf, "threshold_percent": "80"}
    )
    assert response.status_code == 303
    achieved = {p["id"]: p["achieved"] for p in course.staff.get("/api/v1/grid").json["learners"]}
    assert achieved[learner] == ["emerging"]
    assert count(app, ScoreOutbox) == 1

    back = course.staff.client.post(
        f"{page}/rule",
        data={
            "csrf_token": course.staff.csrf,
            "threshold_percent": "100",
            "require_lower_levels": "on",
        },
    )
    assert back.status_code == 303
    assert course.staff.get("/api/v1/grid").json["learners"][0]["achieved"] == []
    for bad in ("0", "101", "eighty"):
        refused = course.staff.client.post(
            f"{page}/rule", data={"csrf_token": course.staff.csrf, "threshold_percent": bad}
        )
        assert refused.status_code == 400
    learner_session = course.learners[0]
    denied = learner_session.client.post(
        f"/launch/{learner_session.launch_id}/rule",
        data={"csrf_token": learner_session.csrf, "threshold_percent": "10"},
    )
    assert denied.status_code == 403


def test_the_api_is_described_by_openapi(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert {"/grid", "/judgements", "/progress", "/export/grid.csv", "/export/history.csv"} <= set(
        spec["paths"]
    )
    item = spec["components"]["schemas"]["JudgementItem"]
    assert set(item["required"]) == {"learner_id", "statement_id", "verdict"}
    assert item["properties"]["verdict"]["enum"] == ["met", "not_yet", "clear"]


def test_ids_beyond_the_database_integer_range_are_refused_cleanly(
    app: Flask, course: Course
) -> None:
    huge = 2**40
    response = course.staff.judge((huge, course.statements["emerging"][0], "met"))
    assert response.status_code == 400 and response.json["index"] == 0
    history = course.staff.get("/api/v1/judgements", query_string={"learner_id": huge})
    assert history.status_code == 400
    assert count(app, Judgement) == 0
