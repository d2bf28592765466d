"""Dates and counts as people read them (issue 13, items 9 and 10 of what was seen): one date-time
format with its zone, in the launch's locale; plural-correct counts; the learner's evidence links
in their progress (API and page). Pages and API on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from flask import Flask, render_template_string

from lms_plugin import worker
from lms_plugin.assessment.wording import count, format_when, locale_tag
from lms_plugin.lti import claims
from tests.courses import Course, launch_as
from tests.lti.platform import LtiPlatform

MOMENT = dt.datetime(2026, 12, 1, 0, 51, 4, tzinfo=dt.UTC)
EVIDENCE = "https://evidence.example/learner-0/filing?step=1&kind=a"
ONE_FORMAT = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC")  # en-GB, the default


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        (None, "1 Dec 2026, 00:51 UTC"),
        ("en-GB", "1 Dec 2026, 00:51 UTC"),
        ("en", "Dec 1, 2026, 00:51 UTC"),
        ("en_US", "Dec 1, 2026, 00:51 UTC"),
        ("de", "1. Dez. 2026, 00:51 UTC"),
        ("fr", "1 déc. 2026, 00:51 UTC"),
        ("es", "1 dic 2026, 00:51 UTC"),  # a 24-hour clock with two digits, as Intl's
    ],
)
def test_one_format_with_the_zone_in_the_launch_locale(tag: str | None, text: str) -> None:
    assert format_when(MOMENT, tag) == text


def test_any_instant_is_shown_in_utc_and_text_timestamps_are_read() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert format_when(dt.datetime(2026, 12, 1, 1, 51, tzinfo=paris)) == "1 Dec 2026, 00:51 UTC"
    assert format_when("2026-12-01T00:51:04Z") == "1 Dec 2026, 00:51 UTC"
    with pytest.raises(ValueError, match="naive"):
        format_when(dt.datetime(2026, 12, 1, 0, 51))


@pytest.mark.parametrize("tag", ["", "zz-ZZ", "not a locale", "en-GB;drop", "x" * 200, "../en"])
def test_a_locale_claim_that_is_no_locale_falls_back_to_the_default(tag: str) -> None:
    assert locale_tag(tag) == "en-GB"
    assert format_when(MOMENT, tag) == "1 Dec 2026, 00:51 UTC"


def test_counts_are_plural_correct() -> None:
    assert count(1, "statement") == "1 statement"
    assert count(10, "statement") == "10 statements"
    assert count(0, "learner") == "0 learners"
    assert count(2, "person", "people") == "2 people"


def test_the_when_filter_writes_a_time_element_in_the_launch_locale(app: Flask) -> None:
    template = "{{ moment | when }}|{{ date_locale() }}"
    with app.test_request_context():
        german = render_template_string(
            template, moment=MOMENT, launch=SimpleNamespace(locale="de-DE")
        )
        public = render_template_string(template, moment="2026-12-01T00:51:04Z")
        unparsable = render_template_string(template, moment="<soon>")
        nothing = render_template_string(template, moment=None)
    assert german == '<time datetime="2026-12-01T00:51:04Z">1. Dez. 2026, 00:51 UTC</time>|de-DE'
    assert public == '<time datetime="2026-12-01T00:51:04Z">1 Dec 2026, 00:51 UTC</time>|en-GB'
    assert unparsable == "&lt;soon&gt;|en-GB"
    assert nothing == "|en-GB"


def test_the_evidence_macro_links_only_web_addresses(app: Flask) -> None:
    template = '{% from "assessment/_evidence.html" import evidence_link %}{{ evidence_link(url) }}'
    with app.test_request_context():
        web = render_template_string(template, url="HTTPS://example.org/a?b=1&c=2")
        script = render_template_string(template, url="javascript:alert(1)")
    assert web == (
        '<a href="HTTPS://example.org/a?b=1&amp;c=2" target="_blank"'
        ' rel="noopener noreferrer nofollow">HTTPS://example.org/a?b=1&amp;c=2'
        '<span class="visually-hidden"> (opens in a new tab)</span></a>'
    )
    assert script == "javascript:alert(1)"


def test_progress_carries_each_statement_s_evidence_link_and_judging_time(
    app: Flask, course: Course
) -> None:
    me = course.learners[0]
    first, second = course.statements["emerging"][:2]
    course.staff.judge((me.person_id, first, "met"), comment="Filed", evidence_url=EVIDENCE)
    course.staff.judge((me.person_id, second, "not_yet"), evidence_url=EVIDENCE)
    course.staff.judge((me.person_id, second, "clear"))

    statements = me.get("/api/v1/progress").json["levels"][0]["statements"]
    assert statements[0]["evidence_url"] == EVIDENCE and statements[0]["comment"] == "Filed"
    judged_at = dt.datetime.fromisoformat(statements[0]["judged_at"])
    assert judged_at.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - judged_at) < dt.timedelta(minutes=5)
    # Cleared and never judged: pending, nothing shown from an earlier verdict.
    for cleared in statements[1:3]:
        assert (cleared["verdict"], cleared["evidence_url"], cleared["judged_at"]) == (
            "pending",
            None,
            None,
        )
    staff_view = course.staff.get("/api/v1/progress", query_string={"learner_id": me.person_id})
    assert staff_view.json["levels"][0]["statements"][0]["evidence_url"] == EVIDENCE

    html = me.client.get(f"/launch/{me.launch_id}").get_data(as_text=True)
    assert html.count("(opens in a new tab)") == 1
    link = re.search(r'<p class="meta">Evidence: (<a [^>]+>)', html)
    assert link is not None
    assert link.group(1) == (
        '<a href="https://evidence.example/learner-0/filing?step=1&amp;kind=a"'
        ' target="_blank" rel="noopener noreferrer nofollow">'
    )
    judged = re.findall(r'Judged <time datetime="([^"]+)">([^<]+)</time>', html)
    assert len(judged) == 1 and ONE_FORMAT.fullmatch(judged[0][1])


def test_a_launch_locale_sets_the_pages_dates_and_the_grid_s(
    app: Flask, platform: LtiPlatform, course: Course
) -> None:
    me = course.learners[0]
    course.staff.judge(*[(me.person_id, s, "met") for s in course.statements["emerging"]])
    with app.app_context():
        worker.issue_credentials_once()
    custom = {claims.CUSTOM: {"framework": str(course.version_id), "levels": "emerging"}}
    context = {claims.CONTEXT: {"id": "course-1", "title": "Course course-1"}}
    german = {claims.LAUNCH_PRESENTATION: {"locale": "de-DE", "document_target": "iframe"}}
    staff = launch_as(
        app, platform, "course-1-teacher", "Teacher", True, **custom, **context, **german
    )
    grid = staff.client.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    assert '<meta name="date-locale" content="de-DE">' in grid
    issued = re.search(r'<td><time datetime="[^"]+">([^<]+)</time></td>', grid)
    assert issued is not None and re.fullmatch(
        r"\d{1,2}\. [A-Z][a-z]+\. \d{4}, \d{2}:\d{2} UTC", issued.group(1)
    ), grid

    learner = launch_as(
        app, platform, "course-1-learner-0", "Learner 0", False, **custom, **context
    )
    page = learner.client.get(f"/launch/{learner.launch_id}").get_data(as_text=True)
    assert page.count("Judged <time") == 10
    assert all(
        ONE_FORMAT.fullmatch(text) for text in re.findall(r"Judged <time[^>]*>([^<]+)", page)
    )

    # The public credential page (no launch): the default locale, with the time and the zone.
    credential = me.get("/api/v1/progress").json["credentials"][0]
    public = app.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)
    issued_on = re.search(r'on <time datetime="[^"]+">([^<]+)</time>', public)
    assert issued_on is not None and ONE_FORMAT.fullmatch(issued_on.group(1)), public


def test_the_grid_states_its_rule_in_plural_correct_words(app: Flask, course: Course) -> None:
    staff = course.staff
    page = staff.client.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    assert "a level is achieved when every statement is met." in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = staff.client.post(
        f"/launch/{staff.launch_id}/rule",
        data={"csrf_token": token.group(1), "threshold_percent": "90"},
    )
    assert answer.status_code == 303
    page = staff.client.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    assert "a level is achieved when 90% of its statements are met." in page
    assert "(s)" not in page and "statements is met" not in page
