"""The evaluator's grid shows a learner's evidence, in Chromium through the sandbox LMS over real
LTI 1.3 (`lms-plugin demo`, issue 13): Chloé sends evidence from her page; in Ada's grid the cell
is marked and its name ends "(evidence waiting)", the state filter finds her, the cell's dialog
shows the evidence (a link opening in a new tab, the note as plain text, "waiting"), saving what
is recorded says the evidence still waits, and a judgement ends the wait ("looked at", in the
page's one date format). The dialog's "Show this comment in the learner's credential" is sent
with the judgement and opens ticked as recorded, unticked once the comment changes. axe-core
checks each state in the LMS frame. `SHOTS` set: screenshots saved there."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import check_accessibility
from tests.e2e.sandbox import ADA, CHLOE, FRAMEWORK, place_emerging

LINK = "https://portfolio.example/chloe/filing-log"
NOTE = "Three weeks of filing <b>checked</b> & signed by my supervisor"
SHOTS = os.environ.get("SHOTS")

pytestmark = pytest.mark.own_demo(viewport={"width": 1366, "height": 768})


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def launch_as(page: Page, user: str) -> FrameLocator:
    page.goto(f"/sandbox?as={user}")
    page.get_by_role("button", name=re.compile(f"^Launch {FRAMEWORK}")).first.click()
    return page.frame_locator("iframe")


def chloe_cell(tool: FrameLocator, waiting: bool) -> object:
    """Chloé's first cell, found by its whole accessible name."""
    name = r"^Chloé Dubois, Emerging statement 1: [^,]+, Not judged"
    name += r" \(evidence waiting\)$" if waiting else r"$"
    return tool.get_by_role("button", name=re.compile(name))


def test_evidence_waits_in_the_grid_until_judged_and_the_credential_tick_is_kept(
    page: Page,
) -> None:
    # Ada places the tool with Emerging in scope; Chloé sends evidence for its first statement.
    place_emerging(page)
    tool = launch_as(page, CHLOE)
    statement = tool.locator("ul.progress-list > li").first
    statement.locator("summary").click()
    statement.get_by_label("Link to your evidence").fill(LINK)
    statement.get_by_label("Note for your evaluator (optional)").fill(NOTE)
    statement.get_by_role("button", name="Send evidence").click()
    expect(tool.locator("ul.progress-list > li").first.get_by_role("status")).to_contain_text(
        "Sent."
    )

    # Ada's grid: the cell is marked, and its name says the evidence waits; no other cell's does.
    tool = launch_as(page, ADA)
    cell = chloe_cell(tool, waiting=True)
    expect(cell).to_have_count(1)
    expect(cell).to_have_attribute("data-evidence-waiting", "")
    expect(tool.locator("button.cell[data-evidence-waiting]")).to_have_count(1)
    mark = cell.evaluate("c => getComputedStyle(c, '::after').content")
    assert "✉" in mark, mark
    expect(tool.locator(".grid-key")).to_contain_text("marks a cell with evidence from the learner")
    cell.scroll_into_view_if_needed()
    shot(page, "grid-evidence-cell")
    check_accessibility(page)

    # The state filter keeps only her.
    tool.get_by_label("Show learners").select_option(label="With evidence waiting")
    tool.get_by_role("button", name="Show").click()
    expect(tool.locator("#grid-summary")).to_contain_text("with evidence waiting")
    expect(tool.locator("table.grid tbody tr")).to_have_count(1)
    expect(tool.get_by_role("rowheader")).to_have_accessible_name("Chloé Dubois")

    # Her cell's dialog: the evidence, the note as plain text, waiting.
    chloe_cell(tool, waiting=True).click()
    dialog = tool.locator("#cell-dialog")
    evidence = dialog.get_by_role("region", name="Evidence from the learner")
    expect(evidence).to_be_visible()
    link = evidence.get_by_role("link", name=f"{LINK} (opens in a new tab)")
    expect(link).to_have_attribute("href", LINK)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(evidence.locator(".note")).to_have_text(NOTE)  # the tags are text, not markup
    expect(evidence.locator("b")).to_have_count(0)
    expect(evidence.locator("li")).to_contain_text("waiting")
    show = dialog.get_by_role("checkbox", name="Show this comment in the learner's credential")
    expect(show).not_to_be_checked()
    shot(page, "grid-evidence-dialog")
    check_accessibility(page)

    # Saving what is recorded (never judged) records nothing: the dialog says the wait goes on.
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("status")).to_have_text(
        "Nothing changed, so the learner's evidence is still waiting."
    )
    expect(dialog).to_be_visible()
    expect(chloe_cell(tool, waiting=True)).to_have_count(1)

    # A judgement with a comment shown in the credential: sent with the item; the wait ends.
    dialog.get_by_role("radio", name="Met").check()
    dialog.get_by_label("Comment (why)").fill("A careful, complete log")
    show.check()
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/api/v1/judgements")
    ) as sent:
        dialog.get_by_role("button", name="Save").click()
    item = sent.value.post_data_json["judgements"][0]
    assert item["verdict"] == "met" and item["comment"] == "A careful, complete log"
    assert item["show_in_credential"] is True
    expect(dialog).to_be_hidden()
    cell = tool.get_by_role("button", name=re.compile(r"^Chloé Dubois, Emerging statement 1: "))
    expect(cell).to_have_accessible_name(re.compile(r", Met$"))
    expect(cell).not_to_have_attribute("data-evidence-waiting", re.compile(".*"))
    expect(cell).to_be_focused()

    # Reopened: ticked as recorded, the evidence looked at when the judgement was recorded (the
    # history's time, in the same format); a changed comment unticks the box.
    page.keyboard.press("Enter")
    expect(show).to_be_checked()
    history_time = dialog.locator("#cell-history li time").first
    expect(history_time).to_have_text(re.compile(r"\d"))
    expect(evidence.locator("li")).to_contain_text(f"looked at {history_time.inner_text()}")
    expect(evidence.locator("li")).not_to_contain_text("waiting")
    dialog.get_by_label("Comment (why)").fill("A careful log")
    expect(show).not_to_be_checked()
    dialog.get_by_label("Comment (why)").fill("A careful, complete log")
    expect(show).to_be_checked()
    shot(page, "grid-evidence-looked-at")
    check_accessibility(page)

    # After a reload the filter finds no one, and the cell is as recorded.
    dialog.get_by_role("button", name="Cancel").click()
    tool = launch_as(page, ADA)
    expect(tool.locator("button.cell[data-evidence-waiting]")).to_have_count(0)
    expect(tool.locator(".grid-key")).to_have_count(0)
    tool.get_by_label("Show learners").select_option(label="With evidence waiting")
    tool.get_by_role("button", name="Show").click()
    expect(tool.locator("#grid-summary")).to_have_text(re.compile(r"^None of \d+ learners"))
