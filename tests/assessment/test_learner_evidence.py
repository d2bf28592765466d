"""Evidence learners submit for a statement (issue 13): the API, the learner's page, the history
answer and the "waiting" read model, with hostile input refused and nothing stored (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from lms_plugin.assessment import evidence, read_models
from lms_plugin.assessment.models import EvidenceSubmission
from lms_plugin.database import db
from lms_plugin.lti.rate_limit import Limit
from tests.courses import Course, Session

LINK = "https://portfolio.example/bea/filing-log"


def submissions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EvidenceSubmission)) or 0


def send(learner: Session, statement: int, url: str = LINK, **extra: object) -> TestResponse:
    return learner.post("/api/v1/evidence", {"statement_id": statement, "url": url, **extra})


def history(course: Course, learner: int, statement: int) -> dict[str, Any]:
    answer = course.staff.get(
        "/api/v1/judgements", query_string={"learner_id": learner, "statement_id": statement}
    )
    assert answer.status_code == 200, answer.json
    assert isinstance(answer.json, dict)
    return answer.json


def waiting(
    app: Flask, learner_ids: list[int] | None = None
) -> dict[tuple[int, int], list[dict[str, Any]]]:
    with app.app_context():
        link_id = db.session.scalar(select(EvidenceSubmission.resource_link_id).limit(1))
        assert link_id is not None
        return read_models.waiting_evidence(db.session, link_id, learner_ids)


def test_evidence_waits_until_the_cell_is_judged_and_history_keeps_it(
    app: Flask, course: Course
) -> None:
    me = course.learners[0]
    first, second = course.statements["emerging"][:2]
    sent = me.post(
        "/api/v1/evidence", {"statement_id": first, "url": f"  {LINK}  ", "note": " My log "}
    )
    assert sent.status_code == 201, sent.json
    assert sent.json == {
        "id": sent.json["id"],
        "learner_id": me.person_id,
        "statement_id": first,
        "url": LINK,
        "note": "My log",
        "submitted_at": sent.json["submitted_at"],
        "waiting": True,
        "looked_at": None,
    }
    assert send(me, second, "http://example.org/a", note="").status_code == 201
    assert set(waiting(app)) == {(me.person_id, first), (me.person_id, second)}
    assert waiting(app, [course.learner_ids[1]]) == {}

    # The evaluator judges the first cell: that evidence was looked at; the second still waits.
    course.staff.judge((me.person_id, first, "not_yet"), comment="Show a month more")
    cell = history(course, me.person_id, first)
    assert [j["verdict"] for j in cell["judgements"]] == ["not_yet"]
    [looked] = cell["submissions"]
    assert looked["waiting"] is False and looked["note"] == "My log"
    assert looked["looked_at"] == cell["judgements"][0]["judged_at"]
    assert set(waiting(app)) == {(me.person_id, second)}

    # More evidence for the judged cell waits again; history keeps both, newest first.
    assert send(me, first, LINK + "?month=2").status_code == 201
    cell = history(course, me.person_id, first)
    assert [(s["url"], s["waiting"]) for s in cell["submissions"]] == [
        (LINK + "?month=2", True),
        (LINK, False),
    ]
    assert [s["url"] for s in waiting(app)[(me.person_id, first)]] == [LINK + "?month=2"]
    # The whole activity's history lists every submission too; staff see them, learners do not.
    everything = course.staff.get("/api/v1/judgements").json
    assert len(everything["submissions"]) == 3
    assert me.get("/api/v1/judgements").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"url": "javascript:alert(1)"},
        {"url": "data:text/html,<script>alert(1)</script>"},
        {"url": "ftp://files.example/log"},
        {"url": "https://trusted.example@elsewhere.example/"},
        {"url": "https://"},
        {"url": "https://exa mple.org/"},
        {"url": "https://example.org/\x00"},
        {"url": "http://[::1"},
        {"url": "https://example.org:99999/"},
        {"url": "/relative/path"},
        {"url": ""},
        {"url": "   "},
        {"url": "https://example.org/" + "a" * 2048},
        {"url": None},
        {"url": 7},
        {"url": LINK, "note": "x" * 2001},
        {"url": LINK, "note": "bell \x07"},
        {"url": LINK, "note": "\ud800"},
        {"url": LINK, "note": ["a"]},
        {"url": LINK, "learner_id": 1},
        {"url": LINK, "statement_id": "1"},
        {"url": LINK, "statement_id": True},
        {"url": LINK, "statement_id": 2**40},
        {"url": LINK, "statement_id": None},
    ],
)
def test_hostile_evidence_is_refused_and_nothing_is_kept(
    app: Flask, course: Course, body: dict[str, object]
) -> None:
    me = course.learners[0]
    full = {"statement_id": course.statements["emerging"][0], **body}
    answer = me.post("/api/v1/evidence", full)
    assert answer.status_code in (400, 422), answer.json
    assert answer.json["error"] and answer.json["message"]
    assert submissions(app) == 0


def test_only_learners_submit_and_only_for_their_own_activity(app: Flask, course: Course) -> None:
    me = course.learners[0]
    statement = course.statements["emerging"][0]
    staff = send(course.staff, statement)
    assert staff.status_code == 403
    outside = max(max(ids) for ids in course.statements.values()) + 1000
    assert send(me, outside).status_code == 403
    for headers in ({"X-LTI-Launch-Id": me.launch_id}, {"X-CSRFToken": me.csrf}):
        refused = me.client.post(
            "/api/v1/evidence", headers=headers, json={"statement_id": statement, "url": LINK}
        )
        assert refused.status_code == 403
    # Another learner's launch id from this browser is not this browser's launch.
    other = course.learners[1]
    stolen = me.client.post(
        "/api/v1/evidence",
        headers={"X-LTI-Launch-Id": other.launch_id, "X-CSRFToken": me.csrf},
        json={"statement_id": statement, "url": LINK},
    )
    assert stolen.status_code == 403
    not_json = me.client.post("/api/v1/evidence", headers=me.headers, data="url=x")
    assert not_json.status_code == 400
    assert submissions(app) == 0


def test_too_many_submissions_are_refused_for_a_while(
    app: Flask, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evidence, "SUBMISSIONS", Limit("evidence-submissions", 2, 3600))
    me = course.learners[0]
    statement = course.statements["emerging"][0]
    assert [send(me, statement).status_code for _ in range(3)] == [201, 201, 429]
    assert submissions(app) == 2
    # Another learner has their own allowance.
    assert send(course.learners[1], statement).status_code == 201


def page(learner: Session) -> str:
    return learner.client.get(f"/launch/{learner.launch_id}").get_data(as_text=True)


def form_post(
    learner: Session, statement: int, url: str, note: str = "", **extra: str
) -> TestResponse:
    data = {"csrf_token": learner.csrf, "statement_id": str(statement), "url": url, "note": note}
    return learner.client.post(f"/launch/{learner.launch_id}/evidence", data={**data, **extra})


def test_a_learner_sends_evidence_from_their_page_and_sees_it_wait(
    app: Flask, course: Course
) -> None:
    me = course.learners[0]
    statement = course.statements["emerging"][2]
    html = page(me)
    assert html.count("<summary>Submit evidence") == 20
    assert f'id="evidence-url-{statement}"' in html and 'name="csrf_token"' in html

    sent = form_post(me, statement, LINK, "Three weeks of <b>filing</b>")
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"/launch/{me.launch_id}#statement-{statement}")
    html = page(me)
    item = re.search(
        rf'<li class="verdict-pending" id="statement-{statement}">.*?</li>\s*</ul>', html, re.S
    )
    assert item, html
    mine = item.group(0)
    assert "Sent. Your evaluator will see your evidence next to this statement." in mine
    assert f'<a href="{LINK}"' in mine and "waiting for your evaluator" in mine
    assert "&lt;b&gt;filing&lt;/b&gt;" in mine and "<b>filing" not in mine
    assert "Sent." not in page(me)  # said once

    course.staff.judge((me.person_id, statement, "met"), evidence_url="https://staff.example/seen")
    html = page(me)
    assert "waiting for your evaluator" not in html and "looked at <time" in html
    # Issue 13, item 10: the evaluator's evidence link is a link on the learner's page.
    assert '<a href="https://staff.example/seen" target="_blank"' in html


def test_the_page_shows_problems_by_their_fields_and_keeps_what_was_typed(
    app: Flask, course: Course
) -> None:
    me = course.learners[0]
    statement = course.statements["emerging"][0]
    answer = form_post(me, statement, 'ftp://x.example/"><script>', "n" * 2001)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Give a web link that starts with https:// or http://." in html
    assert "This note is too long: at most 2,000 characters." in html
    assert (
        f'aria-describedby="evidence-url-hint-{statement} evidence-url-error-{statement}"' in html
    )
    assert html.count('aria-invalid="true"') == 2
    assert 'value="ftp://x.example/&#34;&gt;&lt;script&gt;"' in html and "<script>" not in html
    assert html.count('<details class="evidence-form" open>') == 1
    assert submissions(app) == 0


def test_the_page_form_refuses_staff_strangers_and_forgeries(app: Flask, course: Course) -> None:
    me = course.learners[0]
    statement = course.statements["emerging"][0]
    assert form_post(course.staff, statement, LINK).status_code == 403
    assert form_post(me, statement + 100_000, LINK).status_code == 403
    for bad in ("", "x", "-1", "1" * 11, "\u0661"):
        data = {"csrf_token": me.csrf, "statement_id": bad, "url": LINK}
        answer = me.client.post(f"/launch/{me.launch_id}/evidence", data=data)
        assert answer.status_code == 400, bad
    no_token = me.client.post(
        f"/launch/{me.launch_id}/evidence", data={"statement_id": str(statement), "url": LINK}
    )
    assert no_token.status_code in (400, 403)
    other = course.learners[1]
    foreign = me.client.post(
        f"/launch/{other.launch_id}/evidence",
        data={"csrf_token": me.csrf, "statement_id": str(statement), "url": LINK},
    )
    assert foreign.status_code == 403
    assert submissions(app) == 0
