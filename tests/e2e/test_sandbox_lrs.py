"""The demo's xAPI statements in Chromium: an instructor judges a learner until a level is
achieved, and the sandbox LRS page shows the judgement, level and credential statements that the
demo's delivery loop posted to it over HTTP (basic auth, the xAPI version header)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import check_accessibility
from tests.e2e.sandbox import ADA, FRAMEWORK, place_emerging

pytestmark = pytest.mark.own_demo


def statement_row(page: Page, verb: str, object_text: str) -> Locator:
    rows = page.locator("table tr.statement")
    return rows.filter(
        has=page.locator("td:nth-child(3)", has_text=re.compile(f"^{verb}$"))
    ).filter(has=page.locator("td:nth-child(4)", has_text=object_text))


def wait_for_statement(page: Page, verb: str, object_text: str) -> Locator:
    """Reload the LRS page until a statement with this verb and object has arrived."""
    for _ in range(60):
        row = statement_row(page, verb, object_text)
        if row.count():
            return row
        page.wait_for_timeout(250)
        page.reload()
    raise AssertionError(f"the sandbox LRS never showed {verb} {object_text}")


def test_judging_a_level_shows_its_statements_on_the_sandbox_lrs(page: Page) -> None:
    # The instructor places the tool (one level) and judges Chloé met on all its statements.
    place_emerging(page)

    page.goto(f"/sandbox?as={ADA}")
    page.get_by_role("button", name=re.compile(f"^Launch {FRAMEWORK}")).first.click()
    tool = page.frame_locator("iframe")
    row = tool.locator("table.grid tr", has=tool.get_by_text("Chloé Dubois"))
    cells = row.locator("button.cell")
    cells.first.focus()
    for index in range(10):
        page.keyboard.press("m")
        expect(cells.nth(index)).to_have_attribute("data-verdict", "met")
        if index < 9:
            page.keyboard.press("ArrowRight")
    expect(tool.locator("#grid-status")).to_contain_text("Chloé Dubois achieved Emerging")

    # The sandbox home links to its LRS; the page lists the course's statements, newest first.
    page.goto("/sandbox")
    page.get_by_role("link", name="Sandbox LRS").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox LRS")
    expect(
        page.get_by_text("Sandbox LRS — a demonstration, not an LRS for production")
    ).to_be_visible()
    # The course is offered once its first statement has arrived (the demo's worker delivers
    # in the background, a moment after the judging).
    course = page.get_by_label("Course").locator("option", has_text="Sandbox Course 101")
    for _ in range(120):
        if course.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    page.get_by_label("Course").select_option(label="Sandbox Course 101")
    page.get_by_role("button", name="Show").click()

    earned = wait_for_statement(page, "earned", f"{FRAMEWORK}: Emerging")
    level = wait_for_statement(page, "achieved", "Emerging")
    expect(level.locator("td:nth-child(5)")).to_have_text("success, completed")
    rows = page.locator("table tr.statement")
    expect(rows.filter(has_text="Chloé Dubois")).to_have_count(12)  # 10 judgements, level, badge
    judgements = rows.filter(has=page.locator("td:nth-child(5)", has_text=re.compile("^success$")))
    expect(judgements).to_have_count(10)
    for locator in (earned, level, judgements.first):
        expect(locator.locator("td:nth-child(2)")).to_have_text("Chloé Dubois")
        expect(locator.locator("td:nth-child(6)")).to_have_text("Sandbox Course 101")
    # Newest first: the credential (signed after the level) above the level, the level above
    # the judgements that led to it.
    listed = rows.evaluate_all("rs => rs.map(r => [r.cells[2].innerText, r.cells[3].innerText])")
    assert listed.index(["earned", f"{FRAMEWORK}: Emerging"]) < listed.index(
        ["achieved", "Emerging"]
    )
    assert listed.index(["achieved", "Emerging"]) < len(listed) - 10

    # The statement's JSON is one click away.
    raw = earned.locator("xpath=following-sibling::tr[1]")
    raw.get_by_text("JSON").click()
    expect(raw.locator("pre")).to_be_visible()
    expect(raw.locator("pre")).to_contain_text(
        "http://specification.openbadges.org/xapi/verbs/earned"
    )
    check_accessibility(page)
    if shots := os.environ.get("SHOTS_DIR"):  # for people reviewing the page
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "sandbox-lrs.png"), full_page=True)
