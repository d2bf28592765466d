"""A real browser through the whole sandbox flow on `lms-plugin demo`: Deep Linking inside the
sandbox's iframe, the auto-submitting OIDC forms, a learner launch, and axe-core on each page.

The browser runs in a thread of its own: the session-wide Playwright of `tests/e2e` (whose
fixtures this folder cannot see) may be running in the main thread already, and Playwright's sync
API allows one instance per thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, check_accessibility
from tests.live_server import demo_server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo server of our own: this test adds content to its sandbox course."""
    with demo_server(tmp_path_factory.mktemp("sandbox-browser") / "instance") as base_url:
        yield base_url


def in_browser(base_url: str, scenario: Callable[[Page], None]) -> None:
    """Run `scenario` on a fresh page of a headless Chromium, in another thread."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make test`", pytrace=False)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context(base_url=base_url)
                context.set_default_timeout(30_000)  # a staff launch also pulls the roster
                try:
                    scenario(context.new_page())
                finally:
                    browser.close()
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def deep_link_then_learner_launch(page: Page) -> None:
    page.goto("/sandbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox LMS: Sandbox Course 101")
    check_accessibility(page)

    page.get_by_role("button", name="Add content from the tool").click()
    tool = page.frame_locator("iframe")
    tool.get_by_role("button", name="Add to the course").click()
    expect(tool.get_by_role("heading", level=1)).to_contain_text("Content added")
    expect(tool.get_by_text("framework=1")).to_be_visible()
    check_accessibility(page)

    page.goto("/sandbox?as=sandbox-user-chloe")
    expect(page.get_by_text("You are Chloé Dubois, learner")).to_be_visible()
    check_accessibility(page)
    page.get_by_role("button", name="Launch Legal Secretaries").first.click()
    learner_view = page.frame_locator("iframe")
    expect(learner_view.get_by_text("Sandbox Course 101", exact=False).first).to_be_visible()
    expect(learner_view.get_by_text("Chloé Dubois", exact=False).first).to_be_visible()
    check_accessibility(page)


def test_deep_linking_then_learner_launch_in_the_sandbox_iframe(demo: str) -> None:
    in_browser(demo, deep_link_then_learner_launch)
