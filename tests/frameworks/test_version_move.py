"""Moving a placement to a newer version of its framework: unchanged statements keep their
judgements (carried over, in history), changed and added ones start unjudged, levels recomputed,
nothing deleted."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.models import FrameworkVersion, Statement
from lms_plugin.frameworks.parsing import parse_framework
from lms_plugin.lti.models import ResourceLink
from tests.builders import SEED_FILES
from tests.courses import Course


def new_version(app: Flask, version_id: int, change: Any) -> int:
    with app.app_context():
        old = db.session.get(FrameworkVersion, version_id)
        assert old is not None
        seed = next(p for p in SEED_FILES if p.name == old.source_name)
    document = json.loads(seed.read_text(encoding="utf-8"))
    change(document["framework"]["levels"])
    with app.app_context():
        result = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "v2.json")
        )
        db.session.commit()
        assert result.action == "new_version"
        return result.version.id


def revise(levels: dict[str, Any]) -> None:
    levels["emerging"]["statements"].pop()  # removed
    levels["developing"]["statements"][0] += " (revised)"  # changed
    levels["developing"]["statements"].append("Court e-filing portals — file without help.")


def link_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalars(select(ResourceLink.id)).one()


def test_moving_keeps_unchanged_judgements_and_recomputes_levels(
    app: Flask, runner: FlaskCliRunner, course: Course
) -> None:
    emerging, developing = course.statements["emerging"], course.statements["developing"]
    first, second = course.learner_ids
    assert course.staff.judge(*[(first, s, "met") for s in emerging]).status_code == 201
    assert course.staff.judge((first, developing[0], "met")).status_code == 201
    response = course.staff.judge((first, developing[1], "not_yet"), comment="Try the docket.")
    assert response.status_code == 201
    assert course.staff.judge(*[(second, s, "met") for s in emerging[:9]]).status_code == 201
    assert course.staff.judge((second, emerging[9], "not_yet")).status_code == 201
    with app.app_context():
        judgements_before = db.session.scalar(select(func.count()).select_from(Judgement))
    to_id = new_version(app, course.version_id, revise)

    result = runner.invoke(
        cli, ["frameworks", "move-placement", str(link_id(app)), "--to", str(to_id), "--json"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["from"], report["to"]) == (course.version_id, to_id)
    assert report["carried_over"] == 9 + 1 + 9
    assert report["left_behind"] == sorted([emerging[9], developing[0]])
    assert report["achieved"] == ["emerging", "emerging"] and report["withdrawn"] == []
    with app.app_context():
        session = db.session
        new_texts = {
            s.text: s.id
            for s in session.scalars(select(Statement)).all()
            if s.level.version_id == to_id
        }
        changed = new_texts[next(t for t in new_texts if t.endswith("(revised)"))]
        added = new_texts["Court e-filing portals — file without help."]
        assert report["unjudged"] == sorted([changed, added])
        carried = session.scalars(
            select(Judgement).where(Judgement.carried_over_from_id.is_not(None))
        ).all()
        assert len(carried) == 19
        for copy in carried:
            original = session.get(Judgement, copy.carried_over_from_id)
            assert original is not None
            assert (
                session.get(Statement, original.statement_id).text
                == session.get(Statement, copy.statement_id).text
            )
            assert (copy.learner_id, copy.verdict, copy.comment, copy.judged_by_id) == (
                original.learner_id,
                original.verdict,
                original.comment,
                original.judged_by_id,
            )
        assert {c.comment for c in carried if c.verdict == "not_yet"} == {"Try the docket."}
        assert not any(c.statement_id in (changed, added) for c in carried)
        total = session.scalar(select(func.count()).select_from(Judgement))
        assert total == judgements_before + 19  # nothing deleted
        achievements = session.scalars(select(LevelAchievement)).all()
        assert all(a.withdrawn_at is None for a in achievements)  # the earlier version's too
        assert len(achievements) == 3

    grid = course.staff.get("/api/v1/grid").json
    assert grid is not None and grid["framework"]["id"] == to_id
    cells = {(c["learner_id"], c["statement_id"]): c["verdict"] for c in grid["cells"]}
    assert (first, changed) not in cells and (first, added) not in cells
    assert cells[(first, new_texts[_text(app, developing[1])])] == "not_yet"
    history = course.staff.get(
        f"/api/v1/judgements?learner_id={first}&statement_id={new_texts[_text(app, emerging[0])]}"
    ).json
    assert history is not None and len(history["judgements"]) == 1
    assert history["judgements"][0]["carried_over_from"] is not None


def _text(app: Flask, statement_id: int) -> str:
    with app.app_context():
        statement = db.session.get(Statement, statement_id)
        assert statement is not None
        return statement.text


def test_a_placement_moves_only_forward_within_its_framework(
    app: Flask, runner: FlaskCliRunner, course: Course
) -> None:
    link = str(link_id(app))
    with app.app_context():
        other = db.session.scalars(
            select(FrameworkVersion.id).where(FrameworkVersion.id != course.version_id)
        ).first()
    to_id = new_version(app, course.version_id, revise)
    assert (
        runner.invoke(cli, ["frameworks", "move-placement", link, "--to", str(to_id)]).exit_code
        == 0
    )

    cases = [
        ([link, "--to", str(course.version_id)], "only move to a later revision"),
        ([link, "--to", str(to_id)], "only move to a later revision"),
        ([link, "--to", str(other)], "belongs to another framework"),
        ([link, "--to", "777777"], "no framework version with id 777777"),
        (["424242", "--to", str(to_id)], "no placement (resource link) with id 424242"),
    ]
    for arguments, words in cases:
        result = runner.invoke(cli, ["frameworks", "move-placement", *arguments])
        assert result.exit_code == 1 and words in result.output, result.output
    assert runner.invoke(cli, ["frameworks", "move-placement", "x", "--to", "1"]).exit_code == 2


def test_staff_move_the_activity_from_its_framework_version_page(
    app: Flask, course: Course
) -> None:
    page = f"/launch/{course.staff.launch_id}/framework-versions"
    learner = course.learners[0]
    assert (
        learner.client.get(
            f"/launch/{learner.launch_id}/framework-versions", headers=learner.headers
        ).status_code
        == 403
    )
    assert "nothing to move to" in course.staff.get(page).get_data(as_text=True)
    grid = course.staff.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)
    assert f'href="{page}"' in grid
    first = course.learner_ids[0]
    course.staff.judge((first, course.statements["emerging"][0], "met"))
    to_id = new_version(app, course.version_id, revise)

    html = course.staff.get(page).get_data(as_text=True)
    assert "18 statements unchanged" in html
    assert "2 statements changed or removed" in html
    assert "2 statements changed or new" in html
    assert f'name="to" value="{to_id}"' in html

    move = f"{page}/move"
    headers = course.staff.headers
    without_token = {k: v for k, v in headers.items() if k != "X-CSRFToken"}
    refused = course.staff.client.post(move, headers=without_token, data={"to": to_id})
    assert refused.status_code == 403  # no CSRF token
    for wrong in ("", "x", "0", "99999999999999999999", str(course.version_id)):
        answer = course.staff.client.post(move, headers=headers, data={"to": wrong})
        assert answer.status_code == 400, wrong
    assert "later revision" in answer.get_data(as_text=True)

    moved = course.staff.client.post(move, headers=headers, data={"to": to_id})
    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(f"/launch/{course.staff.launch_id}")
    grid_json = course.staff.get("/api/v1/grid").json
    assert grid_json is not None and grid_json["framework"]["id"] == to_id
    assert len(grid_json["cells"]) == 1
    assert "nothing to move to" in course.staff.get(page).get_data(as_text=True)
