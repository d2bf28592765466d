"""The grid's filter, dates and evidence links, in Chromium (issue 13, items 5, 9 and 10 of what was
seen): the name filter (on the server, across pages) ignores case and accents and filters by
what is left to do; history dates
read as the server's (one format, in UTC, in the launch's locale); evidence in a cell's history and
on the learner's page is a real link that opens in a new tab.

In-process tool on both databases, in a pretend LMS's frame (fixtures of test_security_pages).
`SHOTS` set: screenshots saved there.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Frame, expect

from lms_plugin.assessment.wording import format_when
from lms_plugin.lti import claims
from tests.browser import check_accessibility
from tests.e2e import test_judging_safely as judging
from tests.e2e.test_judging_safely import Course, enrol, row, shot
from tests.e2e.test_security_pages import Browsing
from tests.lti.platform import INSTRUCTOR, LEARNER

tool = judging.tool
lms = judging.lms

EVIDENCE = "https://evidence.example/chloe/filing"
NAMES = ("Bea Wong", "Sam Okafor", "Chloé Dubois", "Mikkel Østergaard")


class BigCourse(Course):
    """Bea Wong and Sam Okafor, plus Chloé Dubois and Mikkel Østergaard."""

    def __init__(self, lms: Browsing) -> None:
        super().__init__(lms.tool)
        enrol(lms.tool, self.custom, "chloe", "Chloé Dubois")
        enrol(lms.tool, self.custom, "mikkel", "Mikkel Østergaard")
        grid = self.api.get("/api/v1/grid").json
        assert grid is not None
        self.learners = {p["name"]: p["id"] for p in grid["learners"]}

    def launch(self, lms: Browsing, locale: str | None = None, **claims_: Any) -> Frame:
        presentation = {claims.LAUNCH_PRESENTATION: {"locale": locale}} if locale else {}
        frame = lms.launch(True, **claims_, **presentation, **self.custom)
        return frame


def shown(frame: Frame) -> list[str]:
    return frame.locator("table.grid tbody th.learner .name").all_inner_texts()


def test_the_name_filter_ignores_case_and_accents_and_filters_by_what_is_left(
    lms: Browsing,
) -> None:
    """The filter runs on the server, across every page of a large course (test_grid_keyboard)."""
    course = BigCourse(lms)
    bea = course.learners["Bea Wong"]
    course.api.judge(*[(bea, s, "met") for s in course.statements])  # Bea: Emerging achieved
    course.api.judge(*[(course.learners["Sam Okafor"], s, "not_yet") for s in course.statements])
    frame = course.launch(lms, sub="teacher-1", name="Ada Teacher", **{claims.ROLES: [INSTRUCTOR]})
    expect(frame.locator("table.grid")).to_be_visible()
    assert sorted(shown(frame)) == sorted(NAMES)
    summary = frame.locator("#grid-summary")
    expect(summary).to_have_text("4 learners, by name.")

    def search(typed: str) -> None:
        field = frame.get_by_label("Filter learners by name")
        field.fill(typed)
        with frame.expect_navigation():
            field.press("Enter")
        expect(frame.get_by_label("Filter learners by name")).to_have_value(typed.strip())

    for typed, found in (
        ("chloe", ["Chloé Dubois"]),
        ("CHLOÉ", ["Chloé Dubois"]),
        ("ostergaard", ["Mikkel Østergaard"]),
        ("  østergaard   mikkel ", ["Mikkel Østergaard"]),
        ("B", ["Bea Wong", "Chloé Dubois"]),
    ):
        search(typed)
        assert shown(frame) == found, typed
        if typed == "chloe":
            shot(lms, "filtered-accents")
    expect(summary).to_have_text("2 of 4 learners whose names contain “B”. Sorted by name.")
    search("nobody")
    expect(frame.locator("table.grid")).to_have_count(0)
    expect(frame.locator("#grid-summary")).to_have_text(
        "None of 4 learners whose names contain “nobody”."
    )

    # By what is left to do: Bea has every statement judged and her level; Sam has every
    # statement judged but no level.
    search("")
    expect(summary).to_have_text("4 learners, by name.")
    state = frame.get_by_label("Show learners", exact=True)
    state.select_option(label="With statements not yet judged")
    frame.get_by_role("button", name="Show").click()
    expect(summary).to_have_text("2 of 4 learners with statements not yet judged. Sorted by name.")
    assert shown(frame) == ["Chloé Dubois", "Mikkel Østergaard"]
    frame.get_by_label("Show learners", exact=True).select_option(label="Missing a level")
    frame.get_by_role("button", name="Show").click()
    expect(frame.locator("table.grid tbody tr")).to_have_count(3)
    assert "Bea Wong" not in shown(frame)
    search("mikkel")
    expect(summary).to_have_text(
        "1 of 4 learners whose names contain “mikkel” and missing a level. Sorted by name."
    )
    assert shown(frame) == ["Mikkel Østergaard"]

    # The grid keeps its one Tab stop on a row shown.
    expect(frame.locator("table.grid [tabindex='0']")).to_have_count(1)
    shot(lms, "filtered")
    check_accessibility(lms.page)


def test_the_history_shows_dates_as_the_server_does_and_evidence_as_links(
    lms: Browsing,
) -> None:
    course = BigCourse(lms)
    chloe = course.learners["Chloé Dubois"]
    first = course.statements[0]
    course.api.judge((chloe, first, "not_yet"), comment="Draft only")
    course.api.judge((chloe, first, "met"), comment="Filed", evidence_url=EVIDENCE)
    frame = course.launch(
        lms, "de-DE", sub="teacher-1", name="Ada Teacher", **{claims.ROLES: [INSTRUCTOR]}
    )
    row(frame, "Chloé Dubois").locator("button.cell").first.click()
    dialog = frame.locator("#cell-dialog")
    entries = dialog.locator("#cell-history li")
    expect(entries).to_have_count(2)

    # Dates: the server's own format for the launch's locale, with the zone; never the
    # browser's default.
    for index in range(2):
        time = entries.nth(index).locator("time")
        instant = time.get_attribute("datetime")
        assert instant is not None
        expect(time).to_have_text(format_when(instant, "de-DE"))
        assert re.fullmatch(r"\d{1,2}\. [A-Z][a-z]+\. \d{4}, \d{2}:\d{2} UTC", time.inner_text())

    link = entries.first.get_by_role("link", name=f"{EVIDENCE} (opens in a new tab)")
    expect(link).to_have_attribute("href", EVIDENCE)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(entries.nth(1).get_by_role("link")).to_have_count(0)
    shot(lms, "history")
    check_accessibility(lms.page)
    lms.context.route(
        "https://evidence.example/**",
        lambda route: route.fulfill(body="<title>Evidence</title>", content_type="text/html"),
    )
    with lms.context.expect_page() as opened:
        link.click()
    evidence = opened.value
    evidence.wait_for_load_state()
    assert evidence.url == EVIDENCE
    # noopener and noreferrer: the evidence page can neither reach the tool's window nor learn
    # its address.
    assert evidence.evaluate("[window.opener, document.referrer]") == [None, ""]
    evidence.close()


def test_the_learner_sees_their_evidence_links_and_when_they_were_judged(
    lms: Browsing,
) -> None:
    course = BigCourse(lms)
    chloe = course.learners["Chloé Dubois"]
    course.api.judge(
        (chloe, course.statements[0], "met"), comment="Filed on time", evidence_url=EVIDENCE
    )
    course.api.judge((chloe, course.statements[1], "not_yet"), comment="Missing the cover sheet")
    frame = course.launch(
        lms, "en-GB", sub="chloe", name="Chloé Dubois", **{claims.ROLES: [LEARNER]}
    )
    item = frame.locator(".progress-list li").first
    link = item.get_by_role("link", name=f"{EVIDENCE} (opens in a new tab)")
    expect(link).to_have_attribute("href", EVIDENCE)
    expect(link).to_have_attribute("target", "_blank")
    expect(item.locator("time")).to_have_text(
        re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$")
    )
    expect(frame.locator(".progress-list li").nth(1)).to_contain_text("Missing the cover sheet")
    expect(frame.locator(".progress-list li").nth(1).get_by_role("link")).to_have_count(0)
    shot(lms, "learner")
    check_accessibility(lms.page)
