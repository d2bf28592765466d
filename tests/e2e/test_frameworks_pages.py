"""The public pages in a real browser: content, keyboard use, and axe-core's accessibility rules."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import check_accessibility

SEED_TITLES = (
    "Legal Secretaries and Administrative Assistants",
    "Legal Support Workers, All Other",
)
SEED_STATEMENTS = 80


def test_frameworks_page_shows_both_seed_frameworks_and_every_statement(page: Page) -> None:
    page.goto("/frameworks")

    for title in SEED_TITLES:
        expect(page.get_by_role("heading", name=title, level=2)).to_be_visible()
    statements = page.locator("li.statement")
    expect(statements).to_have_count(SEED_STATEMENTS)
    hidden = statements.evaluate_all(
        "items => items.filter(item => !item.checkVisibility()).map(item => item.id)"
    )
    assert hidden == []


def test_skip_link_moves_keyboard_focus_to_the_main_content(page: Page) -> None:
    page.goto("/frameworks")

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_framework_link_opens_its_detail_page(page: Page) -> None:
    page.goto("/frameworks")
    page.get_by_role("link", name=SEED_TITLES[0]).click()

    expect(page).to_have_url(re.compile(r"/frameworks/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(SEED_TITLES[0])
    assert page.locator("li.statement").count() > 0
    check_accessibility(page)


def test_start_page_is_accessible_with_the_skip_link_shown(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link only appears (and can be checked) when focused
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    check_accessibility(page)


def test_frameworks_page_is_accessible(page: Page) -> None:
    page.goto("/frameworks")
    check_accessibility(page)


def test_sandbox_page_is_accessible(page: Page) -> None:
    page.goto("/sandbox")
    check_accessibility(page)


def test_check_accessibility_fails_on_serious_and_critical_violations(page: Page) -> None:
    page.set_content(
        '<html lang="en"><title>Bad</title><main><img src="data:,">'
        '<p style="color: #bbb; background: #fff">Too faint</p></main></html>'
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        check_accessibility(page)
    message = str(failure.value)
    assert "image-alt (critical)" in message
    assert "color-contrast (serious)" in message
    assert "img" in message
