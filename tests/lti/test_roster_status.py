"""`GET /launch/<launch_id>/roster`: the grid page asks it while the course's class list is being
read from the LMS (`{"syncing", "as_of", "problem"}`). Staff of the launch's course only, by the
launch the URL names and this browser owns, with or without cookies; it reads and changes nothing.
The grid page names it (`data-follow`) only while a sync runs."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import select, update

from lms_plugin.database import db
from lms_plugin.lti import claims, nrps
from lms_plugin.lti.models import RosterSync
from tests.courses import Session, launch_as
from tests.lti.platform import INSTRUCTOR, LtiPlatform
from tests.lti.test_platform_storage import cookieless_launch
from tests.lti.test_roster_sync import ROSTER, FakeNrps, install, staff_launch, sync

NRPS_CLAIM = {claims.NRPS: {"context_memberships_url": ROSTER, "service_versions": ["2.0"]}}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def roster(session: Session, launch_id: str | None = None) -> tuple[int, object]:
    """The answer's status and JSON, asked with the session's headers."""
    response = session.get(f"/launch/{launch_id or session.launch_id}/roster")
    return response.status_code, response.json


def custom(version_id: int) -> dict[str, object]:
    return {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}


def test_staff_see_the_sync_running_then_finished_with_its_time(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    response = staff.get(f"/launch/{staff.launch_id}/roster")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {"syncing": True, "as_of": None, "problem": None}

    assert sync(app) == 1
    status, body = roster(staff)
    assert status == 200 and isinstance(body, dict)
    assert body["syncing"] is False and body["problem"] is None
    assert ISO_UTC.match(body["as_of"]), body
    with app.app_context():
        finished = db.session.scalar(select(RosterSync.finished_at))
    assert finished is not None
    as_of = dt.datetime.fromisoformat(body["as_of"].replace("Z", "+00:00"))
    assert abs(as_of - finished) < dt.timedelta(milliseconds=1)


def test_a_failed_sync_says_its_problem_while_retried_and_once_given_up(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    install(app, FakeNrps(size=3, failures={1: 99}))
    staff = staff_launch(app, platform, version_id)
    sync(app)
    status, body = roster(staff)
    assert status == 200 and isinstance(body, dict)
    assert body["syncing"] is True and "answered 500" in body["problem"]
    with app.app_context():  # the last attempt: due now
        db.session.execute(
            update(RosterSync).values(
                attempts=nrps.MAX_ATTEMPTS - 1, next_attempt_at=dt.datetime.now(dt.UTC)
            )
        )
        db.session.commit()
    sync(app)
    status, body = roster(staff)
    assert status == 200 and isinstance(body, dict)
    assert (body["syncing"], body["as_of"]) == (False, None)
    assert "answered 500" in body["problem"]


def test_a_course_whose_roster_was_never_asked_for_is_not_syncing(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    staff = launch_as(app, platform, "teacher", "Teacher", True, **custom(version_id))
    assert roster(staff) == (200, {"syncing": False, "as_of": None, "problem": None})
    page = staff.client.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    assert "data-follow" not in page and 'id="roster-show"' not in page


def test_only_staff_of_the_launch_s_course_in_the_browser_that_launched_may_ask(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    learner = launch_as(app, platform, "learner", "Lee", False, **custom(version_id))
    assert roster(learner)[0] == 403
    assert roster(learner, staff.launch_id)[0] == 403  # not this browser's launch
    other_course = {claims.CONTEXT: {"id": "course-2", "title": "Another course"}}
    other_staff = launch_as(
        app, platform, "teacher-2", "Tess", True, **custom(version_id), **other_course
    )
    assert roster(other_staff, staff.launch_id)[0] == 403
    assert roster(other_staff) == (200, {"syncing": False, "as_of": None, "problem": None})
    stranger = Session(app.test_client(), staff.launch_id, staff.csrf)  # the ids, not the cookie
    assert roster(stranger)[0] == 403
    assert roster(staff, "no-such-launch-id-at-all")[0] == 403
    # The launch in the URL decides, whatever the header says; asking changes nothing.
    response = staff.client.get(
        f"/launch/{other_staff.launch_id}/roster", headers={"X-LTI-Launch-Id": staff.launch_id}
    )
    assert response.status_code == 403
    assert staff.client.post(f"/launch/{staff.launch_id}/roster").status_code == 405
    assert roster(staff) == (200, {"syncing": True, "as_of": None, "problem": None})


def test_a_learner_in_the_same_browser_as_staff_is_refused(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    """One browser holding a staff launch and a learner launch: the learner's gets nothing."""
    install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    response = platform.launch(
        staff.client,
        "http://tool.test",
        sub="learner-here",
        name="Lee",
        **{claims.ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]},
        **custom(version_id),
    )
    learner_id = response.headers["Location"].rsplit("/", 1)[1]
    assert roster(staff, learner_id)[0] == 403
    assert roster(staff)[0] == 200


def test_a_cookieless_page_asks_with_its_token(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    install(app, FakeNrps(size=3))
    teacher = cookieless_launch(
        app,
        platform,
        sub="teacher-9",
        **{claims.ROLES: [INSTRUCTOR]},
        **custom(version_id),
        **NRPS_CLAIM,
    )
    url = f"/launch/{teacher.launch_id}/roster"
    assert f'data-follow="{url}"' in teacher.page
    # The link to the updated page posts the token, as the page's other links do.
    shown = re.search(r'<div id="roster-show" hidden>(.*?)</div>', teacher.page, re.S)
    assert shown is not None
    assert f'<form method="post" action="/launch/{teacher.launch_id}"' in shown.group(1)
    answer = teacher.client.get(url, headers=teacher.headers)
    assert answer.status_code == 200 and answer.json == {
        "syncing": True,
        "as_of": None,
        "problem": None,
    }
    id_only = {"X-LTI-Launch-Id": teacher.launch_id}
    assert teacher.client.get(url, headers=id_only).status_code == 403
    assert teacher.client.get(url).status_code == 403


@pytest.mark.parametrize("query", ["", "?sort=progress&q=lee"])
def test_the_grid_page_names_the_status_and_its_own_address_while_syncing(
    app: Flask, platform: LtiPlatform, version_id: int, query: str
) -> None:
    install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    page_url = f"/launch/{staff.launch_id}{query}"
    page = staff.client.get(page_url).get_data(as_text=True)
    follow = re.search(r'id="roster-status" role="status" data-follow="([^"]+)"', page)
    assert follow is not None and follow.group(1) == f"/launch/{staff.launch_id}/roster"
    link = re.search(r'<div id="roster-show" hidden><a href="([^"]+)">', page)
    assert link is not None and unescape(link.group(1)) == page_url
    assert "Show the updated class list" in page
    sync(app)
    page = staff.client.get(page_url).get_data(as_text=True)
    assert "data-follow" not in page and 'id="roster-show"' not in page
