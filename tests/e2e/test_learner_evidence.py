"""A learner sends evidence for a statement from their page in Chromium, through the sandbox LMS
over real LTI 1.3 (`lms-plugin demo`, issue 13): a link that is no web link is refused with the
problem by its field and what was typed kept; a good one is confirmed and shown waiting for the
evaluator. axe-core checks each page in the LMS frame."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import check_accessibility
from tests.e2e.sandbox import CHLOE, FRAMEWORK, place_emerging

LINK = "https://portfolio.example/chloe/filing-log"

pytestmark = pytest.mark.own_demo(viewport={"width": 1366, "height": 768})


def launch_as(page: Page, user: str) -> FrameLocator:
    page.goto(f"/sandbox?as={user}")
    page.get_by_role("button", name=re.compile(f"^Launch {FRAMEWORK}")).first.click()
    return page.frame_locator("iframe")


def test_a_learner_sends_evidence_and_sees_it_waiting(page: Page) -> None:
    # The instructor places the tool with one level in scope.
    place_emerging(page)

    # Chloé opens it: under each statement, a closed "Submit evidence".
    tool = launch_as(page, CHLOE)
    expect(tool.get_by_role("heading", level=1)).to_contain_text("My progress")
    statement = tool.locator("ul.progress-list > li").first
    summary = statement.locator("summary")
    expect(summary).to_have_count(1)
    expect(tool.locator("summary")).to_have_count(10)
    check_accessibility(page)

    # A link that is no web link (the browser takes ftp: as a URL; the tool does not).
    summary.click()
    link = statement.get_by_label("Link to your evidence")
    note = statement.get_by_label("Note for your evaluator (optional)")
    link.fill("ftp://files.example/log")
    note.fill("Three weeks of filing, checked by my supervisor")
    statement.get_by_role("button", name="Send evidence").click()

    statement = tool.locator("ul.progress-list > li").first
    link = statement.get_by_label("Link to your evidence")
    expect(statement.locator("details")).to_have_attribute("open", "")
    expect(link).to_have_attribute("aria-invalid", "true")
    expect(link).to_have_accessible_description(
        re.compile("Give a web link that starts with https:// or http://")
    )
    expect(link).to_have_value("ftp://files.example/log")
    expect(statement.get_by_label("Note for your evaluator (optional)")).to_have_value(
        "Three weeks of filing, checked by my supervisor"
    )
    check_accessibility(page)

    # Corrected: sent, said so by the statement, and shown waiting.
    link.fill(LINK)
    statement.get_by_role("button", name="Send evidence").click()
    statement = tool.locator("ul.progress-list > li").first
    expect(statement.get_by_role("status")).to_have_text(
        "Sent. Your evaluator will see your evidence next to this statement."
    )
    sent = statement.locator("ul.my-evidence li")
    expect(sent).to_have_count(1)
    expect(sent.get_by_role("link", name=f"{LINK} (opens in a new tab)")).to_have_attribute(
        "href", LINK
    )
    expect(sent).to_contain_text("Three weeks of filing, checked by my supervisor")
    expect(sent).to_contain_text("waiting for your evaluator")
    expect(statement.locator("details")).not_to_have_attribute("open", "")
    check_accessibility(page)

    # Said once: reopened, the page lists the evidence without the confirmation.
    tool = launch_as(page, CHLOE)
    statement = tool.locator("ul.progress-list > li").first
    expect(statement.locator("ul.my-evidence li")).to_contain_text("waiting for your evaluator")
    expect(statement.get_by_role("status")).to_have_count(0)
