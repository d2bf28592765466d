"""The public pages in a real browser: content, keyboard use, and axe-core's accessibility rules."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.frameworks.parsing import parse_framework
from lms_plugin.lti import claims
from tests.browser import check_accessibility
from tests.builders import SEED_FILES
from tests.e2e import test_security_pages as security
from tests.e2e.test_judging_safely import enrol
from tests.e2e.test_security_pages import Browsing, placed_custom
from tests.lti.platform import INSTRUCTOR

tool = security.tool
lms = security.lms
STAFF = {"sub": "teacher-1", "name": "Ada Teacher", claims.ROLES: [INSTRUCTOR]}

SEED_TITLES = (
    "Legal Secretaries and Administrative Assistants",
    "Legal Support Workers, All Other",
)
SEED_STATEMENTS = 80


def test_frameworks_page_shows_both_seed_frameworks_and_every_statement(page: Page) -> None:
    page.goto("/frameworks")

    for title in SEED_TITLES:  # an occupation, then its frameworks (here named as it is)
        expect(page.get_by_role("heading", name=f"{title} (SOC", level=2)).to_be_visible()
        expect(page.get_by_role("heading", name=title, exact=True, level=3)).to_be_visible()
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
    versions = page.get_by_role("table", name=re.compile("Every version of"))
    expect(versions.get_by_role("row")).to_have_count(2)
    expect(versions.get_by_role("row").nth(1)).to_contain_text("current (this page)")
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


@pytest.mark.parametrize("cookieless", [False, True])
def test_staff_move_an_activity_to_a_newer_version_in_the_lms_frame(
    lms: Browsing, cookieless: bool
) -> None:
    custom = placed_custom(lms.tool)
    enrol(lms.tool, custom, "learner-1", "Learner One")
    with lms.tool.app.app_context():
        version = db.session.get(FrameworkVersion, int(custom[claims.CUSTOM]["framework"]))
        assert version is not None
        seed = next(p for p in SEED_FILES if p.name == version.source_name)
    document = json.loads(seed.read_text(encoding="utf-8"))
    document["framework"]["levels"]["emerging"]["statements"][0] += " (revised)"
    with lms.tool.app.app_context():
        services.import_framework(db.session, parse_framework(json.dumps(document).encode(), "v2"))
        db.session.commit()

    grid = lms.launch(True, cookieless=cookieless, **STAFF, **custom)
    grid.get_by_role(
        "button" if cookieless else "link", name="Framework version", exact=True
    ).click()

    expect(grid.get_by_role("heading", name="Framework version", level=1)).to_be_visible()
    expect(grid.get_by_text("9 statements unchanged: judgements carried over")).to_be_visible()
    check_accessibility(lms.page)
    grid.get_by_role("button", name="Move this activity to revision 2").click()
    expect(grid.locator("table.grid")).to_be_visible()
    expect(grid.locator("table.grid")).to_contain_text("(revised)")
