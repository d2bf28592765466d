"""The whole product in Chromium, through the sandbox LMS over real LTI 1.3 (`lms-plugin demo`):

an instructor adds the tool by deep linking inside the LMS iframe, opens it and sees the roster
(learners who never launched included, from NRPS), judges a learner with the keyboard until a
level is achieved, reverses one judgement and sees the level withdrawn; the scores reach the LMS
gradebook (AGS); the learner then launches and sees exactly their own state and the credential
that was issued and then revoked, whose public page says so. axe-core checks every page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import check_accessibility

ADA = "sandbox-user-ada"
CHLOE = "sandbox-user-chloe"
FRAMEWORK = "Legal Secretaries and Administrative Assistants"

pytestmark = pytest.mark.own_demo


def as_user(page: Page, user: str) -> None:
    page.goto(f"/sandbox?as={user}")


def launch_link(page: Page) -> FrameLocator:
    page.get_by_role("button", name=re.compile(f"^Launch {FRAMEWORK}")).first.click()
    return page.frame_locator("iframe")


def wait_for_score(page: Page, learner: str, score: str, comment: str) -> None:
    """Reload the sandbox gradebook until the newest score of `learner` is `score`."""
    for _ in range(40):
        as_user(page, ADA)
        newest = page.locator("#gradebook ~ section tbody tr", has_text=learner).first
        if newest.count() and score in newest.inner_text():
            expect(newest).to_contain_text(comment)
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the gradebook never showed {score} for {learner}")


def test_instructor_places_judges_and_learner_sees_own_state(page: Page) -> None:
    # Deep linking inside the LMS iframe: the instructor picks the framework and one level.
    as_user(page, ADA)
    expect(page.get_by_text("You are Ada Lovelace, instructor")).to_be_visible()
    page.get_by_role("button", name="Add content from the tool").click()
    tool = page.frame_locator("iframe")
    tool.get_by_role("radio", name=re.compile(FRAMEWORK)).check()
    tool.get_by_role("checkbox", name=re.compile(r"^Emerging")).first.check()
    check_accessibility(page)
    tool.get_by_role("button", name="Add to the course").click()
    expect(tool.get_by_role("heading", level=1)).to_contain_text("Content added")

    # The instructor opens the placed activity: the grid lists every learner of the roster (read
    # by the demo's worker thread moments after the first staff launch asked for it; the page
    # follows the sync and shows the grid by itself, with no reload).
    as_user(page, ADA)
    tool = launch_link(page)
    grid = tool.locator("table.grid")
    expect(grid).to_be_visible()
    expect(tool.locator("#roster-status")).to_contain_text("Class list from the LMS as of")
    for name in ("Chloé Dubois", "Dmitri Ivanov", "Bea Wong", "Sam O'Brien"):
        expect(grid.get_by_role("rowheader", name=re.compile(re.escape(name)))).to_be_visible()
    expect(grid.locator("th.statement-head")).to_have_count(10)
    check_accessibility(page)

    # Filter to one learner (on the server), then a column's "All met" (in its header's popover)
    # judges only the learners shown.
    learners = grid.locator("tbody tr").count()
    tool.get_by_label("Filter learners by name").fill("dmitri")
    tool.get_by_label("Filter learners by name").press("Enter")
    expect(grid.locator("tbody tr")).to_have_count(1)
    grid.locator("th.statement-head .statement-text").first.click()
    grid.locator(".statement-full:popover-open").get_by_role(
        "button", name=re.compile("met for every learner shown")
    ).click()
    confirm = tool.locator("#confirm-dialog")
    expect(confirm.get_by_role("heading")).to_have_text(
        "Mark Emerging statement 1 met for 1 of 1 learner shown?"
    )
    confirm.get_by_role("button", name="Mark 1 met").click()
    dmitri = grid.locator("tr", has=tool.get_by_text("Dmitri Ivanov"))
    expect(dmitri.locator("button.cell").first).to_have_attribute("data-verdict", "met")
    tool.get_by_label("Filter learners by name").fill("")
    tool.get_by_label("Filter learners by name").press("Enter")
    expect(grid.locator("tbody tr")).to_have_count(learners)
    chloe_first = grid.locator("tr", has=tool.get_by_text("Chloé Dubois")).locator("button.cell")
    expect(chloe_first.first).to_have_attribute("data-verdict", "")

    # Into Chloé's first cell, then the keyboard only: M and → across the ten statements.
    row = grid.locator("tr", has=tool.get_by_text("Chloé Dubois"))
    first_cell = row.locator("button.cell").first
    first_cell.focus()
    status = tool.locator("#grid-status")
    for index in range(10):
        page.keyboard.press("m")
        expect(row.locator("button.cell").nth(index)).to_have_attribute("data-verdict", "met")
        if index < 9:
            page.keyboard.press("ArrowRight")
    expect(status).to_contain_text("Chloé Dubois achieved Emerging")
    expect(row.locator("[data-achieved] .badge")).to_have_text("✓ Emerging")

    # The score reaches the LMS gradebook (AGS) through the delivery loop: 1 of 1 level.
    wait_for_score(page, "Chloé Dubois", "1.0 / 1.0", "Achieved: Emerging")

    # Back in the tool, reverse the last judgement: the level is withdrawn, and so is the score.
    tool = launch_link(page)
    row = tool.locator("table.grid tr", has=tool.get_by_text("Chloé Dubois"))
    status = tool.locator("#grid-status")
    row.locator("button.cell").nth(9).focus()
    page.keyboard.press("n")
    expect(row.locator("button.cell").nth(9)).to_have_attribute("data-verdict", "not_yet")
    expect(status).to_contain_text("Chloé Dubois no longer has Emerging")
    expect(row.locator("[data-achieved] .badge")).to_have_count(0)

    # Enter opens the cell: comment on it, and its history shows both judgements.
    page.keyboard.press("Enter")
    dialog = tool.locator("#cell-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#cell-history li")).to_have_count(2)
    dialog.get_by_label("Comment (why)").fill("Filing not yet consistent")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    check_accessibility(page)
    wait_for_score(page, "Chloé Dubois", "0.0 / 1.0", "Withdrawn: Emerging")

    # The cohort overview: the share of learners meeting each statement.
    tool = launch_link(page)
    tool.get_by_role("link", name="Cohort overview").click()
    expect(tool.get_by_role("heading", level=1)).to_have_text("Cohort overview")
    check_accessibility(page)

    # The learner launches and sees exactly her own state.
    as_user(page, CHLOE)
    mine = launch_link(page)
    expect(mine.get_by_role("heading", level=1)).to_contain_text("My progress")
    expect(mine.locator("li.verdict-met")).to_have_count(9)
    expect(mine.locator("li.verdict-not_yet")).to_have_count(1)
    expect(mine.get_by_text("Evaluator: Filing not yet consistent")).to_be_visible()
    expect(mine.get_by_text("✓ Achieved")).to_have_count(0)
    body = mine.locator("main").inner_text()
    for other in ("Dmitri Ivanov", "Bea Wong", "Sam O'Brien"):
        assert other not in body
    credentials = mine.locator("ul.credentials li")
    expect(credentials).to_have_count(1)
    expect(credentials.locator(".problem")).to_have_text(
        "Revoked: The Emerging level was withdrawn: an evaluator reversed a judgement."
    )
    check_accessibility(page)

    # The employer's view of that credential: it was revoked when the level was withdrawn. The
    # page says so once, with the reason, and offers nothing to share or download.
    href = credentials.get_by_role("link", name="Emerging").get_attribute("href")
    assert href is not None
    page.goto(href)
    banner = page.locator(".verdict-banner")
    expect(banner).to_contain_text("Revoked on")
    expect(banner).to_contain_text("an evaluator reversed a judgement")
    expect(page.get_by_text("Revoked on")).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile("LinkedIn|Download"))).to_have_count(0)
    expect(page.get_by_text("it can no longer be shared or downloaded")).to_be_visible()
    check_accessibility(page)
