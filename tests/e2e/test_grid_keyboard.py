"""The grid by keyboard and screen reader, in Chromium (issue 13, item 4 of what was seen, and the
build lines "WAI-ARIA grid" and "courses of thousands"): one Tab stop reached within five Tab
presses from the top of the page (top-level and in the LMS's frame), roving focus with the arrow
keys, Home/End, Ctrl+Home/End and Page Up/Down, cells named "learner, statement, verdict", row
headers named by the learner alone, a whole level judged without a mouse; 2,000 learners paged,
sorted by name or progress and filtered on the server.

In-process tool on both databases (fixtures of test_security_pages). `SHOTS` set: screenshots.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Frame, expect
from sqlalchemy import select

from lms_plugin.database import db
from lms_plugin.lti.models import Course as CourseRecord
from lms_plugin.lti.services import upsert_enrollment, upsert_person
from tests.browser import check_accessibility
from tests.e2e import test_judging_safely as judging
from tests.e2e.test_judging_safely import Course, row, shot
from tests.e2e.test_security_pages import Browsing, assert_fits

tool = judging.tool
lms = judging.lms

MAX_TABS = 5
LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def in_grid(frame: Frame) -> bool:
    return bool(
        frame.evaluate(
            "!!(document.activeElement && document.activeElement.closest('[role=grid]'))"
        )
    )


def tab_into_grid(lms: Browsing, frame: Frame) -> int:
    """From the top of the page as it loaded (the LMS's page when framed), Tab until the grid has
    the focus, following the skip link when it has it; returns the number of Tab presses."""
    assert lms.page.evaluate("document.activeElement === document.body")
    for presses in range(1, MAX_TABS + 1):
        lms.page.keyboard.press("Tab")
        if in_grid(frame):
            return presses
        if frame.evaluate("document.activeElement && document.activeElement.id") == "skip-to-grid":
            lms.page.keyboard.press("Enter")
            if in_grid(frame):
                return presses
    raise AssertionError(f"the grid was not reached in {MAX_TABS} Tab presses")


def cell_name(learner: str, number: int, competency: str, verdict: str) -> str:
    return f"{learner}, Emerging statement {number}: {competency}, {verdict}"


class Judging:
    """Bea Wong and Sam Okafor in a course with Emerging in scope (10 statements)."""

    def __init__(self, lms: Browsing) -> None:
        self.course = Course(lms.tool)
        grid = self.course.api.get("/api/v1/grid").json
        assert grid is not None
        self.competencies = [s["text"].partition(" — ")[0] for s in grid["levels"][0]["statements"]]


@pytest.mark.parametrize("framed", [False, True], ids=["top", "framed"])
def test_the_grid_is_one_tab_stop_within_five_tab_presses(lms: Browsing, framed: bool) -> None:
    judging_ = Judging(lms)
    first = judging_.competencies[0]
    frame = judging_.course.open_grid(lms, framed)
    grid = frame.get_by_role("grid")
    expect(grid).to_have_accessible_name(
        re.compile(r"^Judgements of 2 learners against 10 statements")
    )
    # Row headers are named by the learner alone (no button labels in them).
    expect(frame.get_by_role("rowheader", name="Bea Wong", exact=True)).to_have_count(1)
    expect(frame.get_by_role("rowheader")).to_have_count(2)
    # One Tab stop in the whole grid; header and menu buttons are reached with the arrow keys.
    expect(frame.locator("table.grid [tabindex='0']")).to_have_count(1)
    tab_stops = frame.locator("table.grid :is(button, th, td):not([popover] *)").evaluate_all(
        "els => els.filter(e => e.tabIndex >= 0).length"
    )
    assert tab_stops == 1  # (a closed header popover's button is no Tab stop either)

    presses = tab_into_grid(lms, frame)
    assert presses <= MAX_TABS
    cell = frame.get_by_role(
        "button", name=cell_name("Bea Wong", 1, first, "Not judged"), exact=True
    )
    expect(cell).to_be_focused()
    shot(lms, f"grid-keyboard-{'framed' if framed else 'top'}")

    # Tab leaves the grid (not into the next learner's buttons); Shift+Tab comes back to the cell.
    lms.page.keyboard.press("ArrowRight")
    second = frame.get_by_role(
        "button", name=cell_name("Bea Wong", 2, judging_.competencies[1], "Not judged"), exact=True
    )
    expect(second).to_be_focused()
    lms.page.keyboard.press("Tab")
    assert not in_grid(frame)
    lms.page.keyboard.press("Shift+Tab")
    expect(second).to_be_focused()
    check_accessibility(lms.page)


def test_a_whole_level_is_judged_by_keyboard_with_screen_reader_names(lms: Browsing) -> None:
    judging_ = Judging(lms)
    words = judging_.competencies
    course = judging_.course
    frame = course.open_grid(lms, framed=True)
    keys = lms.page.keyboard
    status = frame.locator("#grid-status")
    tab_into_grid(lms, frame)

    def name_of_focus() -> str:
        return frame.locator(":focus").evaluate("e => e.getAttribute('aria-label') || ''")

    # Cell by cell: M, N, C, arrows; each cell's name says learner, statement and verdict.
    keys.press("m")
    expect(
        frame.get_by_role("button", name=cell_name("Bea Wong", 1, words[0], "Met"), exact=True)
    ).to_be_focused()
    expect(status).to_have_text("Saved.")
    keys.press("ArrowRight")
    keys.press("n")
    expect(
        frame.get_by_role("button", name=cell_name("Bea Wong", 2, words[1], "Not yet"), exact=True)
    ).to_be_focused()
    keys.press("End")
    expect(
        frame.get_by_role(
            "button", name=cell_name("Bea Wong", 10, words[9], "Not judged"), exact=True
        )
    ).to_be_focused()
    keys.press("ArrowDown")
    expect(
        frame.get_by_role(
            "button", name=cell_name("Sam Okafor", 10, words[9], "Not judged"), exact=True
        )
    ).to_be_focused()
    keys.press("c")  # clearing a cell never judged records nothing
    expect(status).to_have_text("Nothing to save: that is what is recorded.")

    # Home: the row header, named by the learner; then the row's "All met…" menu.
    keys.press("ArrowUp")
    keys.press("Home")
    expect(frame.get_by_role("rowheader", name="Bea Wong", exact=True)).to_be_focused()
    keys.press("ArrowRight")
    menu_button = frame.get_by_role("button", name="All met… for Bea Wong: choose a level")
    expect(menu_button).to_be_focused()
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    keys.press("Enter")
    menu = frame.get_by_role("menu", name="All met for Bea Wong")
    expect(menu).to_be_visible()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("menuitem", name="Emerging: all met")).to_be_focused()
    shot(lms, "grid-keyboard-row-menu")
    check_accessibility(lms.page)
    keys.press("ArrowDown")  # one level in scope: the menu wraps
    expect(menu.get_by_role("menuitem", name="Emerging: all met")).to_be_focused()
    keys.press("Enter")
    confirm = frame.locator("#confirm-dialog")
    expect(confirm.get_by_role("heading")).to_have_text(
        "Mark 9 of 10 Emerging statements met for Bea Wong?"
    )
    expect(confirm.get_by_role("button", name="Mark 9 met")).to_be_focused()
    keys.press("Enter")
    expect(status).to_have_text(
        "Saved 9 judgements; 1 was already met. Bea Wong achieved Emerging."
    )
    expect(menu_button).to_be_focused()
    expect(row(frame, "Bea Wong").locator("[data-met]")).to_have_text("10")
    for number, competency in enumerate(words, start=1):
        expect(
            frame.get_by_role(
                "button", name=cell_name("Bea Wong", number, competency, "Met"), exact=True
            )
        ).to_have_count(1)
    assert [h[0] for h in course.history("Bea Wong", 1)] == ["met", "not_yet"]

    # A column: Up from the first row reaches its header; Enter shows the whole statement and
    # the column's bulk action; Escape and Cancel come back to the header.
    keys.press("ArrowRight")
    keys.press("ArrowUp")
    header = frame.locator("th.statement-head .statement-text").first
    expect(header).to_be_focused()
    expect(header).to_have_accessible_name(f"1. {words[0]}")
    keys.press("Enter")
    bulk = frame.get_by_role("button", name=f"Mark “{words[0]}” met for every learner shown…")
    expect(bulk).to_be_focused()
    keys.press("Enter")
    expect(confirm.get_by_role("heading")).to_have_text(
        "Mark Emerging statement 1 met for 1 of 2 learners?"
    )
    keys.press("Escape")
    expect(status).to_have_text("Nothing changed.")
    expect(header).to_be_focused()

    # Ctrl+End and Ctrl+Home: the last cell and the first header of the grid.
    keys.press("Control+End")
    expect(
        frame.get_by_role(
            "button", name=cell_name("Sam Okafor", 10, words[9], "Not judged"), exact=True
        )
    ).to_be_focused()
    keys.press("PageUp")  # ten rows up, at most to the header row
    expect(frame.locator("th.statement-head .statement-text").last).to_be_focused()
    keys.press("PageDown")
    expect(
        frame.get_by_role(
            "button", name=cell_name("Sam Okafor", 10, words[9], "Not judged"), exact=True
        )
    ).to_be_focused()
    keys.press("Control+Home")
    expect(frame.locator("th.learner-head")).to_be_focused()
    assert name_of_focus() == ""
    check_accessibility(lms.page)


def add_learners(lms: Browsing, count: int) -> None:
    """`count` learners in the course's roster, as an NRPS sync would add them."""
    with lms.tool.app.app_context():
        course = db.session.scalars(select(CourseRecord)).one()
        for index in range(1, count + 1):
            person = upsert_person(
                db.session,
                lms.tool.platform.issuer,
                {"sub": f"bulk-{index}", "name": f"Learner {index:04d}"},
            )
            upsert_enrollment(db.session, course, person, [LEARNER_ROLE], "nrps")
        db.session.commit()


def names_shown(frame: Frame) -> list[str]:
    return frame.locator("table.grid tbody th.learner .name").all_inner_texts()


def test_two_thousand_learners_are_paged_sorted_and_filtered_on_the_server(lms: Browsing) -> None:
    course = Course(lms.tool)  # Bea Wong and Sam Okafor
    add_learners(lms, 1998)
    grid = course.api.get("/api/v1/grid", query_string={"page": 1}).json
    assert grid is not None and grid["paging"]["total"] == 2000
    ids = {p["name"]: p["id"] for p in grid["learners"]}
    first = ids["Learner 0001"]
    course.api.judge(*[(first, s, "met") for s in course.statements])  # 10 of 10 met
    course.api.judge((course.learners["Bea Wong"], course.statements[0], "met"))

    # Unpaged, the API keeps its shape (every learner, no paging); paged, it says which page.
    assert "paging" not in (course.api.get("/api/v1/grid").json or {})
    page20 = course.api.get("/api/v1/grid", query_string={"page": 20, "sort": "progress"}).json
    assert page20 is not None
    assert page20["paging"] == {
        "page": 20,
        "pages": 20,
        "per_page": 100,
        "matching": 2000,
        "total": 2000,
        "sort": "progress",
        "q": "",
        "state": "",
    }
    assert [p["name"] for p in page20["learners"]][-2:] == ["Bea Wong", "Learner 0001"]
    for bad in (
        {"page": "x"},
        {"page": "0"},
        {"sort": "evil"},
        {"state": "nope"},
        {"q": "a" * 201},
    ):
        answer = course.api.get("/api/v1/grid", query_string=bad)
        assert answer.status_code == 400, bad

    frame = course.open_grid(lms, framed=False)
    expect(frame.locator("table.grid tbody tr")).to_have_count(100)
    expect(frame.locator("#grid-summary")).to_have_text("Learners 1–100 of 2000, by name.")
    assert names_shown(frame)[:2] == ["Bea Wong", "Learner 0001"]
    assert_fits(frame)
    assert frame.evaluate("performance.getEntriesByName('grid-interactive').length") == 1
    rows = frame.locator("table.grid tbody tr")
    heights = rows.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
    # Compact rows (about 120 px before): one line, a second for the levels achieved.
    assert max(heights) <= 60 and sorted(heights)[50] <= 40, heights
    shot(lms, "grid-2000-page-1")

    pages = frame.get_by_role("navigation", name="Pages of learners")
    expect(pages.get_by_text("Page 1", exact=True)).to_have_attribute("aria-current", "page")
    pages.get_by_role("link", name="Next page").click()
    expect(frame.locator("#grid-summary")).to_have_text("Learners 101–200 of 2000, by name.")
    assert names_shown(frame)[0] == "Learner 0100"  # after Bea Wong and 0001-0099
    pages.get_by_role("link", name="Page 20").click()
    expect(frame.locator("table.grid tbody tr")).to_have_count(100)
    expect(frame.locator("#grid-summary")).to_have_text("Learners 1901–2000 of 2000, by name.")

    # By progress, fewest statements met first: the one fully met learner comes last.
    frame.get_by_label("Sort by").select_option(label="Progress (fewest met first)")
    frame.get_by_role("button", name="Show").click()
    expect(frame.locator("#grid-summary")).to_have_text(
        "Learners 1–100 of 2000, by progress, fewest statements met first."
    )
    expect(frame.locator("th.progress-head")).to_have_attribute("aria-sort", "ascending")
    assert names_shown(frame)[0] == "Learner 0002"
    pages.get_by_role("link", name="Page 20").click()
    expect(frame.locator("#grid-summary")).to_have_text(
        "Learners 1901–2000 of 2000, by progress, fewest statements met first."
    )
    assert names_shown(frame)[-2:] == ["Bea Wong", "Learner 0001"]
    expect(row(frame, "Learner 0001").locator("td.progress")).to_contain_text("10/10 met")

    # The filter searches every page (ignoring case and accents), keeping the sort.
    search = frame.get_by_label("Filter learners by name")
    search.fill("LEARNER 1998")
    search.press("Enter")
    expect(frame.locator("table.grid tbody tr")).to_have_count(1)
    expect(frame.locator("#grid-summary")).to_have_text(
        "1 of 2000 learners whose names contain “LEARNER 1998”. Sorted by progress, fewest"
        " statements met first."
    )
    expect(frame.get_by_label("Sort by")).to_have_value("progress")
    check_accessibility(lms.page)
