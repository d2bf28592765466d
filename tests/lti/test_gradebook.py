"""Grade passback against platforms as they answer: Canvas's 412 for a link with no assignment,
the deep-linked column found again, Moodle's 409 on a timestamp not later than the stored grade's,
access tokens that expire early or are refused (401); and `lms-plugin scores status`."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update

from lms_plugin import worker
from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.lti import claims, current, tool_metadata
from lms_plugin.lti.models import Platform, ResourceLink, ScoreOutbox
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.orm import utcnow
from tests.courses import Course, launch_as
from tests.lti.gradebook import LINE_ITEMS, FakeGradebook, Grade
from tests.lti.platform import INSTRUCTOR, LtiPlatform

SCOPES = [claims.SCOPE_LINEITEM, claims.SCOPE_SCORE]
PLACEMENT = {"framework": "", "levels": "emerging,developing"}


@pytest.fixture
def lms(app: Flask) -> FakeGradebook:
    gradebook = FakeGradebook()
    app.extensions["lti_http"] = gradebook
    return gradebook


def ags_course(app: Flask, platform: LtiPlatform, version_id: int, **ags: Any) -> Course:
    """Two learners and a teacher launched with an AGS claim (no `lineitem` unless given)."""
    endpoint = {claims.AGS_ENDPOINT: {"scope": SCOPES, "lineitems": LINE_ITEMS, **ags}}
    custom = {claims.CUSTOM: {**PLACEMENT, "framework": str(version_id)}}
    learners = [
        launch_as(app, platform, f"learner-{i}", f"Learner {i}", False, **custom, **endpoint)
        for i in range(2)
    ]
    staff = launch_as(app, platform, "teacher", "Teacher", True, **custom, **endpoint)
    grid = staff.get("/api/v1/grid").json
    assert grid is not None
    statements = {lvl["key"]: [s["id"] for s in lvl["statements"]] for lvl in grid["levels"]}
    return Course(staff, learners, statements, version_id)


def achieve(course: Course, learner: int, level: str = "emerging") -> None:
    response = course.staff.judge(*[(learner, s, "met") for s in course.statements[level]])
    assert response.status_code == 201, response.json


def withdraw(course: Course, learner: int, level: str = "emerging") -> None:
    response = course.staff.judge((learner, course.statements[level][0], "not_yet"))
    assert response.json["withdrawn"], response.json


def deliver(app: Flask) -> Any:
    with app.app_context():
        return worker.deliver_scores_once()


def rows(app: Flask) -> list[ScoreOutbox]:
    with app.app_context():
        return list(db.session.scalars(select(ScoreOutbox).order_by(ScoreOutbox.id)))


def set_scored_at(app: Flask, moment: dt.datetime) -> None:
    """Date the queued scores (to put two changes in one second)."""
    with app.app_context():
        db.session.execute(
            update(ScoreOutbox).where(ScoreOutbox.state == "queued").values(scored_at=moment)
        )
        db.session.commit()


# --- Canvas: line items ---------------------------------------------------------------------


def test_a_link_canvas_made_no_assignment_for_gets_one_column_without_resource_link(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    lms.unbound_links.add("link-1")  # placed through the rich-content editor: 412
    course = ags_course(app, platform, version_id)
    for learner in course.learner_ids:
        achieve(course, learner)

    report = deliver(app)

    assert (report.delivered, report.retrying, report.dead) == (2, 0, 0)
    creates = lms.posts("/line_items")
    assert [("resourceLinkId" in c.body) for c in creates] == [True, False]
    [item] = lms.items
    assert item["resourceId"] == f"framework-{version_id}-emerging-developing"
    assert item["tag"] == "competency-levels" and item["scoreMaximum"] == 2
    assert {user for _, user in lms.grades} == {"learner-0", "learner-1"}
    with app.app_context():
        [link] = db.session.scalars(select(ResourceLink)).all()
        assert link.line_item_url == item["id"]

    withdraw(course, course.learner_ids[0])
    deliver(app)
    assert len(lms.items) == 1 and len(lms.posts("/line_items")) == 2
    assert lms.grades[(item["id"], "learner-0")].score_given == 0


def test_other_line_item_refusals_are_not_taken_for_an_unbound_link(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    lms.refuse_creates = 403
    course = ags_course(app, platform, version_id)
    achieve(course, course.learner_ids[0])

    report = deliver(app)

    assert report.retrying == 1
    assert len(lms.posts("/line_items")) == 1  # no POST without resourceLinkId
    [row] = rows(app)
    assert row.state == "queued" and "answered 403" in (row.last_error or "")


def test_a_column_past_a_hundred_pages_of_an_unfiltered_listing_is_found(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    """A platform that ignores the line-item filters lists the whole course; the tool reads every
    page (Canvas pages by 10) rather than stopping at a cap and making a second column."""
    course = ags_course(app, platform, version_id)
    achieve(course, course.learner_ids[0])
    deliver(app)
    [ours] = lms.items
    lms.items[:0] = [
        {"id": f"{LINE_ITEMS}/other-{n}", "resourceId": f"other-{n}", "label": "Quiz"}
        for n in range(1_500)
    ]
    lms.ignore_filters, lms.page_size = True, 10
    with app.app_context():
        db.session.execute(update(ResourceLink).values(line_item_url=None))
        db.session.commit()
    achieve(course, course.learner_ids[1])

    report = deliver(app)

    assert report.delivered == 1 and len(lms.posts("/line_items")) == 1
    assert (ours["id"], "learner-1") in lms.grades


def test_a_listing_that_pages_in_a_circle_is_an_error_not_a_second_column(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    lms.page_size, lms.loop_pages = 10, True
    course = ags_course(app, platform, version_id)
    achieve(course, course.learner_ids[0])

    report = deliver(app)

    assert report.retrying == 1 and not lms.posts("/line_items")
    [row] = rows(app)
    assert "next page" in (row.last_error or "")


def deep_link(app: Flask, platform: LtiPlatform, version_id: int) -> dict[str, Any]:
    """Staff place the tool through deep linking; returns the content item the tool sent."""
    client = app.test_client()
    settings = {
        "deep_link_return_url": "https://lms.example.edu/return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
    }
    response = platform.launch(
        client,
        "http://tool.test",
        sub="teacher",
        **{
            claims.MESSAGE_TYPE: claims.DEEP_LINKING_REQUEST,
            claims.RESOURCE_LINK: None,
            claims.ROLES: [INSTRUCTOR],
            claims.DEEP_LINKING_SETTINGS: settings,
        },
    )
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        f"{location}/deep-link",
        data={
            "csrf_token": csrf,
            "framework": str(version_id),
            "levels": ["emerging", "developing"],
        },
    )
    token = re.search(r'name="JWT" value="([^"]+)"', answer.get_data(as_text=True))
    assert token, answer.get_data(as_text=True)
    [item] = jwt.decode(token.group(1), options={"verify_signature": False})[claims.CONTENT_ITEMS]
    return dict(item)


def test_the_column_made_at_deep_linking_is_found_by_a_launch_without_lineitem(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    item = deep_link(app, platform, version_id)
    # the platform makes the link and its line item from the content item
    column = lms.add_item(**item["lineItem"], resourceLinkId="link-1")
    lms.add_item(**item["lineItem"], resourceLinkId="link-2")  # the same placement elsewhere
    course = ags_course(app, platform, version_id)  # launches carry no `lineitem` claim
    assert item["custom"] == {"framework": str(version_id), "levels": "emerging,developing"}
    achieve(course, course.learner_ids[0])

    report = deliver(app)

    assert report.delivered == 1
    assert lms.posts("/line_items") == []
    assert list(lms.grades) == [(column["id"], "learner-0")]


# --- Moodle: timestamps ---------------------------------------------------------------------


def test_two_changes_within_one_second_both_reach_moodle_the_later_last(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    lms.add_item(label="Competencies", scoreMaximum=2, resourceId="x", resourceLinkId="link-1")
    course = ags_course(app, platform, version_id, lineitem=f"{LINE_ITEMS}/1")
    second = utcnow().replace(microsecond=100_000)
    learner = course.learner_ids[0]

    achieve(course, learner)
    set_scored_at(app, second)
    assert deliver(app).delivered == 1
    withdraw(course, learner)
    set_scored_at(app, second + dt.timedelta(milliseconds=500))
    report = deliver(app)

    assert (report.delivered, report.retrying) == (1, 0)
    scores = lms.posts("/scores")
    assert [s.body["scoreGiven"] for s in scores] == [1, 0]
    stamps = [dt.datetime.fromisoformat(s.body["timestamp"]) for s in scores]
    assert stamps[1] - stamps[0] == dt.timedelta(seconds=1)
    grade = lms.grades[(f"{LINE_ITEMS}/1", "learner-0")]
    assert grade.score_given == 0 and grade.timemodified == int(stamps[1].timestamp())
    assert [r.sent_timestamp for r in rows(app)] == stamps


def test_a_newer_grade_in_moodle_gets_one_resend_after_now(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    item = lms.add_item(label="C", scoreMaximum=2, resourceId="x", resourceLinkId="link-1")
    course = ags_course(app, platform, version_id, lineitem=item["id"])
    achieve(course, course.learner_ids[0])
    set_scored_at(app, utcnow() - dt.timedelta(minutes=5))
    # the teacher changed the grade in Moodle since: timemodified is now
    lms.grades[(item["id"], "learner-0")] = Grade(2, int(utcnow().timestamp()))

    report = deliver(app)

    assert report.delivered == 1
    first, resend = (dt.datetime.fromisoformat(c.body["timestamp"]) for c in lms.posts("/scores"))
    assert resend > utcnow() - dt.timedelta(seconds=2) > first
    assert lms.grades[(item["id"], "learner-0")].score_given == 1


def test_a_409_is_not_retried_blindly(
    app: Flask, platform: LtiPlatform, version_id: int, lms: FakeGradebook
) -> None:
    item = lms.add_item(label="C", scoreMaximum=2, resourceId="x", resourceLinkId="link-1")
    course = ags_course(app, platform, version_id, lineitem=item["id"])
    achieve(course, course.learner_ids[0])
    lms.always_conflict = True

    report = deliver(app)

    assert (report.delivered, report.retrying, report.dead) == (0, 1, 0)
    assert len(lms.posts("/scores")) == 2  # the score, and one resend after now
    [row] = rows(app)
    assert row.state == "queued" and row.attempts == 1 and row.next_attempt_at > utcnow()

    withdraw(course, course.learner_ids[0])  # a newer score: the old one is superseded
    with app.app_context():
        db.session.execute(update(ScoreOutbox).values(next_attempt_at=utcnow()))
        db.session.commit()
    lms.always_conflict = False
    report = deliver(app)
    assert (report.delivered, report.skipped) == (1, 1)
    assert [r.state for r in rows(app)] == ["superseded", "delivered"]
    assert lms.grades[(item["id"], "learner-0")].score_given == 0


# --- access tokens --------------------------------------------------------------------------


def client_for_platform() -> PlatformClient:
    client = current.platform_client(db.session.scalars(select(Platform)).one())
    db.session.commit()  # no write open while the platform is called, as in the worker
    return client


@pytest.mark.parametrize(("expires_in", "tokens"), [(3600, 1), (5, 3)])
def test_tokens_are_kept_only_as_long_as_the_platform_says(
    app: Flask, platform: LtiPlatform, lms: FakeGradebook, expires_in: int, tokens: int
) -> None:
    lms.expires_in = expires_in
    with app.app_context():
        client = client_for_platform()
        for _ in range(3):
            client.get_json(LINE_ITEMS, SCOPES, claims.MEDIA_LINEITEM_CONTAINER)
    assert len(lms.tokens_issued) == tokens


def test_a_refused_token_is_dropped_and_the_call_made_once_more(
    app: Flask, platform: LtiPlatform, lms: FakeGradebook
) -> None:
    with app.app_context():
        client = client_for_platform()
        client.get_json(LINE_ITEMS, SCOPES, claims.MEDIA_LINEITEM_CONTAINER)
        lms.revoked.add("token-1")  # revoked before its time

        body, _ = client.get_json(LINE_ITEMS, SCOPES, claims.MEDIA_LINEITEM_CONTAINER)
        assert body == [] and lms.tokens_issued == ["token-1", "token-2"]

        lms.revoked.add("token-2")
        lms.revoked.add("token-3")
        with pytest.raises(PlatformServiceError) as refused:
            client.get_json(LINE_ITEMS, SCOPES, claims.MEDIA_LINEITEM_CONTAINER)
        assert refused.value.status == 401 and "answered 401" in str(refused.value)
        assert lms.tokens_issued == ["token-1", "token-2", "token-3"]
        assert client.store.get(client._token_key(SCOPES)) is None


# --- `lms-plugin scores status` -------------------------------------------------------------


def test_scores_status(
    app: Flask,
    runner: FlaskCliRunner,
    platform: LtiPlatform,
    version_id: int,
    lms: FakeGradebook,
) -> None:
    empty = runner.invoke(cli, ["scores", "status", "--json"])
    assert empty.exit_code == 0 and json.loads(empty.output) == {
        "queued": 0,
        "delivered": 0,
        "dead": 0,
    }
    item = lms.add_item(label="C", scoreMaximum=2, resourceId="x", resourceLinkId="link-1")
    course = ags_course(app, platform, version_id, lineitem=item["id"])
    achieve(course, course.learner_ids[0])
    deliver(app)
    achieve(course, course.learner_ids[1])
    with app.app_context():
        db.session.add(
            ScoreOutbox(
                resource_link_id=rows(app)[0].resource_link_id,
                learner_id=course.learner_ids[0],
                score_given=0,
                score_maximum=2,
                scored_at=utcnow(),
                next_attempt_at=utcnow(),
                state="dead",
            )
        )
        db.session.commit()

    result = runner.invoke(cli, ["scores", "status", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"queued": 1, "delivered": 1, "dead": 1}
    text = runner.invoke(cli, ["scores", "status"])
    assert text.exit_code == 0 and text.output == "queued 1, delivered 1, dead 1\n"


# --- placements offered ---------------------------------------------------------------------


def test_only_placements_that_get_a_gradebook_column_are_offered(app: Flask) -> None:
    client = app.test_client()
    config = client.get("/lti/config.json").json
    offered = [p["placement"] for p in config["extensions"][0]["settings"]["placements"]]
    assert sorted(offered) == ["assignment_selection", "link_selection"]
    metadata = tool_metadata.registration_metadata("https://tool.test")
    messages = metadata["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]
    [deep_linking] = [m for m in messages if m["type"] == claims.DEEP_LINKING_REQUEST]
    assert "editor_button" not in deep_linking["placements"]
    assert "RichTextEditor" not in deep_linking["placements"]


def canvas_placements(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(placement, message type) as Canvas derives them from a dynamic registration
    (Lti::IMS::Registration#placements): "ContentArea" is its `link_selection`,
    "RichTextEditor" its `editor_button`, its URL prefix is dropped, a message with no placements
    gets `link_selection`, and the first message naming a placement wins."""
    prefix = "https://canvas.instructure.com/lti/"
    renamed = {"ContentArea": "link_selection", "RichTextEditor": "editor_button"}
    found: dict[str, str] = {}
    for message in messages:
        for name in message.get("placements") or ["link_selection"]:
            found.setdefault(renamed.get(name, name.removeprefix(prefix)), message["type"])
    return list(found.items())


def test_canvas_makes_only_deep_linking_placements_with_a_column_from_the_registration() -> None:
    metadata = tool_metadata.registration_metadata("https://tool.test")
    messages = metadata["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]

    assert sorted(canvas_placements(messages)) == [
        ("assignment_selection", claims.DEEP_LINKING_REQUEST),
        ("link_selection", claims.DEEP_LINKING_REQUEST),
    ]
