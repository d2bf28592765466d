"""The grid at 1366 px and the launch pages' chrome, in Chromium (issue 13, items 6 and 8 of what
was seen): the page never scrolls sideways, the grid scrolls in its own labelled region with its
learner column and header rows in view, headers show each statement's competency in full with the
whole statement one keystroke away; pages of a launch show no site navigation or footer.

In-process tool on both databases, top-level and in a pretend LMS's frame (fixtures of
test_security_pages). `SHOTS` set: screenshots saved there.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Frame, expect

from lms_plugin.lti import claims
from tests.browser import check_accessibility
from tests.e2e import test_judging_safely as judging
from tests.e2e.test_judging_safely import enrol, shot
from tests.e2e.test_security_pages import (
    Browsing,
    assert_fits,
    placed_custom,
    staff_session,
)
from tests.lti.platform import INSTRUCTOR, LEARNER

tool = judging.tool
lms = judging.lms

LEARNERS = [f"Learner {n:02d}" for n in range(1, 21)]
STAFF: dict[str, Any] = {"sub": "teacher-1", "name": "Ada Teacher", claims.ROLES: [INSTRUCTOR]}
# Site navigation and footer, and links that would leave a launch for the tool's own site.
SITE_CHROME = "nav[aria-label='Main'], .site-header, footer, a[href='/'], a[href='/frameworks']"


def every_level(lms: Browsing) -> dict[str, Any]:
    """A seed framework placed with all four levels in scope (40 statements), twenty learners."""
    custom = placed_custom(lms.tool)
    del custom[claims.CUSTOM]["levels"]
    for index, name in enumerate(LEARNERS):
        enrol(lms.tool, custom, f"learner-{index}", name)
    return custom


def box(frame: Frame, selector: str) -> dict[str, float]:
    found = frame.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.parametrize("framed", [False, True], ids=["top", "framed"])
def test_the_grid_fits_1366_px_and_scrolls_in_its_own_region(lms: Browsing, framed: bool) -> None:
    custom = every_level(lms)
    grid = staff_session(lms.tool, **custom).get("/api/v1/grid").json
    assert grid is not None
    texts = [s["text"] for level in grid["levels"] for s in level["statements"]]
    assert len(texts) == 40
    frame = lms.launch(framed, **STAFF, **custom)
    expect(frame.locator("table.grid tbody tr")).to_have_count(len(LEARNERS))
    assert lms.page.viewport_size == {"width": 1366, "height": 768}
    assert_fits(frame)
    assert_fits(lms.page.main_frame)
    shot(lms, f"grid-1366-{'framed' if framed else 'top'}")

    # Each header shows its statement's competency in full: wrapped, never cut.
    heads = frame.locator("th.statement-head .statement-text")
    expect(heads).to_have_count(40)
    numbers = [index + 1 for level in grid["levels"] for index in range(len(level["statements"]))]
    shown = heads.all_inner_texts()
    for number, text, full in zip(numbers, shown, texts, strict=True):
        competency = full.partition(" — ")[0]
        assert " ".join(text.split()) == f"{number}. {competency}"
    cut = heads.evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight)"
        ".map(e => e.textContent)"
    )
    assert cut == []
    lines = heads.evaluate_all(
        "els => els.map(e => "
        "Math.round(e.clientHeight / parseFloat(getComputedStyle(e).lineHeight)))"
    )
    # Two or three lines, four for the few longest (up to 88 characters).
    assert max(lines) <= 4 and sum(n <= 3 for n in lines) >= 0.75 * len(lines), lines

    # The region: labelled, the only thing that scrolls sideways; not a Tab stop of its own (the
    # grid inside is one, and moving in it scrolls the region).
    region = frame.get_by_role("region", name="Judgements: learners and statements")
    assert region.get_attribute("tabindex") is None
    assert region.evaluate("r => r.scrollWidth > r.clientWidth + 1000")
    outer = box(frame, ".grid-scroll")
    region.evaluate("r => { r.scrollLeft = r.scrollWidth; }")
    assert region.evaluate("r => r.scrollLeft") > 1000
    assert_fits(frame)
    learner = box(frame, "tbody th.learner")
    assert abs(learner["x"] - outer["x"]) <= 2  # the learner column stays at the left
    expect(frame.locator("tbody th.learner .name").first).to_be_in_viewport()
    assert box(frame, "th.learner-head")["x"] - outer["x"] <= 2
    level = frame.locator("th.level-head").last
    expect(level).to_be_in_viewport()
    shot(lms, f"grid-1366-{'framed' if framed else 'top'}-scrolled-sideways")

    # Scrolled down: both header rows stay at the top of the region.
    region.evaluate("r => { r.scrollTop = r.scrollHeight; }")
    assert region.evaluate("r => r.scrollTop") > 50
    level_box = box(frame, "th.level-head >> nth=-1")
    assert abs(level_box["y"] - outer["y"]) <= 2
    statement_box = box(frame, "th.statement-head >> nth=-1")
    assert abs(statement_box["y"] - (level_box["y"] + level_box["height"])) <= 2
    expect(frame.locator("th.level-head span").last).to_be_in_viewport()
    shot(lms, f"grid-1366-{'framed' if framed else 'top'}-scrolled-down")
    region.evaluate("r => { r.scrollTop = 0; r.scrollLeft = 0; }")

    # The whole statement: its header button shows it, and the cell's dialog (Enter) says it.
    first = frame.locator("th.statement-head .statement-text").first
    expect(first).to_have_accessible_description(f"Emerging 1. {texts[0]}")
    first.click()
    popover = frame.locator(".statement-full").first
    expect(popover).to_be_visible()
    expect(popover.locator("p")).to_have_text(f"Emerging 1. {texts[0]}")
    expect(popover.get_by_role("button")).to_be_focused()
    shot(lms, f"grid-1366-{'framed' if framed else 'top'}-full-statement")
    lms.page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    frame.locator("tbody button.cell").first.focus()
    lms.page.keyboard.press("Enter")
    dialog = frame.get_by_role("dialog", name="Judgement")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(f"{LEARNERS[0]} — {texts[0]}")
    lms.page.keyboard.press("Escape")
    check_accessibility(lms.page)


def assert_bare(frame: Frame) -> None:
    """A page of a launch: the course header, no site navigation, footer or link off the launch."""
    expect(frame.locator("h1")).to_be_visible()
    expect(frame.locator(SITE_CHROME)).to_have_count(0)


def test_launch_pages_show_no_site_navigation(lms: Browsing) -> None:
    # Outside a launch the site keeps its navigation (so the check below can fail).
    lms.open("/frameworks", framed=False)
    expect(lms.page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(lms.page.locator("footer")).to_have_count(1)

    custom = every_level(lms)
    for framed in (True, False):
        grid = lms.launch(framed, **STAFF, **custom)
        expect(grid.locator("table.grid")).to_be_visible()
        expect(grid.locator(".course-context")).to_be_visible()
        assert_bare(grid)
        grid.get_by_role("link", name="Cohort overview").click()
        expect(grid.get_by_role("heading", name="Cohort overview")).to_be_visible()
        assert_bare(grid)

    learner = lms.launch(
        True, sub="learner-0", name=LEARNERS[0], **{claims.ROLES: [LEARNER]}, **custom
    )
    expect(learner.get_by_role("heading", name="My progress", exact=False)).to_be_visible()
    assert_bare(learner)
    shot(lms, "learner-framed-no-site-nav")

    unplaced = {claims.CUSTOM: None, claims.RESOURCE_LINK: {"id": "link-unplaced"}}
    chooser = lms.launch(True, **STAFF, **unplaced)
    expect(chooser.get_by_role("heading", name="Choose a competency framework")).to_be_visible()
    assert_bare(chooser)
    check_accessibility(lms.page)

    # An error inside the frame: plain words, no way off the launch.
    error = lms.open("/launch/no-such-launch/overview", framed=True)
    expect(error.get_by_role("alert")).to_contain_text("needs a launch from your LMS")
    assert_bare(error)
    expect(error.get_by_role("link", name="Back to the start page")).to_have_count(0)
    shot(lms, "error-framed-no-site-nav")
