"""The roster (NRPS) is read by the worker, not by the staff launch: the launch asks and answers
at once; the worker follows every page (Canvas: 50 a page, `Link: <...>; rel="next"`; others: the
body's `next`) with no cap, resumes at a failed page after a backoff, and two workers never read
one course at once."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from lms_plugin import worker
from lms_plugin.database import db
from lms_plugin.lti import claims, nrps
from lms_plugin.lti.http import TimeoutSession
from lms_plugin.lti.models import Course, Enrollment, RosterSync
from lms_plugin.orm import utcnow
from tests.courses import Session, launch_as
from tests.lti.platform import LEARNER, LtiPlatform

TOKEN_URL = "https://lms.example.edu/token"
ROSTER = "https://lms.example.edu/api/lti/courses/7/names_and_roles"


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    return response


@dataclass
class FakeNrps:
    """A platform's token endpoint and roster, generated on the fly, installed as the tool's
    outgoing HTTP session; counts every call to the platform."""

    size: int
    page_size: int = 50
    next_in_body: bool = False  # lti1p3platform's way; Canvas's is the Link header
    failures: dict[int, int] = field(default_factory=dict)  # page -> how many times it fails
    on_page: Callable[[int], None] | None = None
    calls: list[str] = field(default_factory=list)
    real: TimeoutSession = field(default_factory=TimeoutSession)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if not url.startswith("https://lms.example.edu/"):
            response: requests.Response = self.real.request(method, url, **kwargs)
            return response
        self.calls.append(url)
        if url == TOKEN_URL:
            return answer(200, {"access_token": "token-1", "expires_in": 3600})
        assert kwargs["headers"]["Authorization"] == "Bearer token-1"
        page = int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
        if self.on_page is not None:
            self.on_page(page)
        if self.failures.get(page):
            self.failures[page] -= 1
            return answer(500, {"error": "busy"})
        first = (page - 1) * self.page_size
        members = [
            {"user_id": f"member-{i}", "name": f"Member {i}", "roles": [LEARNER]}
            for i in range(first, min(first + self.page_size, self.size))
        ]
        body: dict[str, Any] = {"id": ROSTER, "members": members}
        headers = {}
        if first + self.page_size < self.size:
            following = f"{ROSTER}?page={page + 1}&per_page={self.page_size}"
            if self.next_in_body:
                body["next"] = following
            else:
                headers["Link"] = f'<{following}>; rel="next", <{ROSTER}?page=1>; rel="first"'
        return answer(200, body, headers)

    def roster_calls(self) -> list[str]:
        return [call for call in self.calls if call.startswith(ROSTER)]


def install(app: Flask, roster: FakeNrps) -> FakeNrps:
    app.extensions["lti_http"] = roster
    return roster


def staff_launch(app: Flask, platform: LtiPlatform, version_id: int) -> Session:
    return launch_as(
        app,
        platform,
        "teacher",
        "Teacher",
        True,
        **{
            claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"},
            claims.NRPS: {"context_memberships_url": ROSTER, "service_versions": ["2.0"]},
        },
    )


def sync(app: Flask, now: dt.datetime | None = None) -> int:
    """Worker passes until one reads nothing; returns the pages read."""
    pages = 0
    with app.app_context():
        while True:
            read = nrps.sync_rosters(db.session, current_client, now=now).delivered
            if not read:
                return pages
            pages += read


def current_client(platform: Any) -> Any:
    from lms_plugin.lti import current

    return current.platform_client(platform)


def learners_in_grid(staff: Session) -> list[str]:
    grid = staff.get("/api/v1/grid").json
    assert grid is not None
    return [learner["name"] for learner in grid["learners"]]


def sync_row(app: Flask) -> RosterSync:
    with app.app_context():
        row = db.session.scalar(select(RosterSync))
        assert row is not None
        return row


def page_text(staff: Session) -> str:
    html = staff.client.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    return re.sub(r"\s+", " ", html)


def test_a_staff_launch_only_asks_and_one_worker_pass_lists_the_roster(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    roster = install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    assert roster.calls == []  # neither a token nor a roster page during the launch
    assert learners_in_grid(staff) == []
    assert "Updating the class list from the LMS…" in page_text(staff)

    with app.app_context():
        report = worker.sync_rosters_once()
    assert report.delivered == 1 and len(roster.roster_calls()) == 1
    assert sorted(learners_in_grid(staff)) == ["Member 0", "Member 1", "Member 2"]
    text = page_text(staff)
    assert "Updating the class list" not in text
    assert re.search(r'role="status">Class list from the LMS as of <time', text), text

    # Another staff launch right after a sync asks for none.
    staff_launch(app, platform, version_id)
    assert sync(app) == 0 and len(roster.roster_calls()) == 1


def test_a_roster_of_20000_in_pages_of_50_is_read_whole(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    roster = install(app, FakeNrps(size=20_000))
    staff = staff_launch(app, platform, version_id)
    assert sync(app) == 400
    assert len(roster.roster_calls()) == 400
    assert len(set(roster.roster_calls())) == 400  # each page once
    row = sync_row(app)
    assert (row.pages, row.members, row.requested_at, row.error) == (400, 20_000, None, None)
    with app.app_context():
        enrolled = db.session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.is_staff.is_(False))
        )
    assert enrolled == 20_000
    names = learners_in_grid(staff)
    assert len(names) == 20_000 and "Member 19999" in names


def test_the_next_page_given_in_the_body_is_followed(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    roster = install(app, FakeNrps(size=120, page_size=50, next_in_body=True))
    staff = staff_launch(app, platform, version_id)
    assert sync(app) == 3 and len(roster.roster_calls()) == 3
    assert len(learners_in_grid(staff)) == 120


def test_a_failed_page_is_recorded_and_the_sync_resumes_there_after_a_backoff(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    roster = install(app, FakeNrps(size=250, failures={3: 1}))
    staff = staff_launch(app, platform, version_id)
    with app.app_context():
        report = nrps.sync_rosters(db.session, current_client)
    assert (report.delivered, report.retrying) == (2, 1)
    row = sync_row(app)
    assert row.attempts == 1 and row.error is not None and "answered 500" in row.error
    assert row.next_url is not None and "page=3" in row.next_url
    assert row.next_attempt_at > utcnow() + dt.timedelta(seconds=10)
    assert len(learners_in_grid(staff)) == 100  # the pages read are kept
    text = page_text(staff)
    assert "Updating the class list from the LMS…" in text
    assert "The last try to read it failed" in text and "it will be tried again" in text

    assert sync(app) == 0  # not before the backoff ends
    later = utcnow() + dt.timedelta(hours=2)
    assert sync(app, now=later) == 3  # pages 3, 4, 5
    pages = [parse_qs(urlsplit(u).query).get("page", ["1"])[0] for u in roster.roster_calls()]
    assert pages == ["1", "2", "3", "3", "4", "5"]
    row = sync_row(app)
    assert (row.attempts, row.error, row.requested_at, row.members) == (0, None, None, 250)
    assert len(learners_in_grid(staff)) == 250
    assert "failed" not in page_text(staff)


def test_two_workers_never_read_one_course_at_once(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    second: list[int] = []

    def another_worker(page: int) -> None:
        if page != 1:
            return

        def run() -> None:
            with app.app_context():
                second.append(nrps.sync_rosters(db.session, current_client).delivered)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()

    roster = install(app, FakeNrps(size=100, on_page=another_worker))
    staff = staff_launch(app, platform, version_id)
    assert sync(app) == 2
    assert second == [0]  # the course was leased: the second worker read nothing
    assert len(roster.roster_calls()) == 2
    assert len(learners_in_grid(staff)) == 100


def test_members_who_leave_the_roster_stay_listed(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    roster = install(app, FakeNrps(size=3))
    staff = staff_launch(app, platform, version_id)
    sync(app)
    roster.size = 1
    with app.app_context():
        course = db.session.scalar(select(Course))
        assert course is not None
        nrps.request_sync(db.session, course.id, ROSTER, now=utcnow() + dt.timedelta(hours=1))
        db.session.commit()
    assert sync(app, now=utcnow() + dt.timedelta(hours=1)) == 1
    assert len(learners_in_grid(staff)) == 3


@pytest.mark.parametrize("body", [[], {"members": "nobody"}])
def test_an_answer_that_is_not_a_roster_is_an_error(
    app: Flask, platform: LtiPlatform, version_id: int, body: Any
) -> None:
    staff_launch(app, platform, version_id)
    roster = install(app, FakeNrps(size=0))
    roster.request = lambda method, url, **kw: (  # type: ignore[method-assign]
        answer(200, {"access_token": "token-1"}) if url == TOKEN_URL else answer(200, body)
    )
    with app.app_context():
        assert nrps.sync_rosters(db.session, current_client).retrying == 1
    assert "not an NRPS membership container" in (sync_row(app).error or "")
