"""A newcomer's first minutes in Chromium: the landing page's ways in, no missing favicon, and a
sandbox that remembers who you act as."""

from __future__ import annotations

from playwright.sync_api import Page, Response, expect

from tests.browser import check_accessibility


def test_landing_page_links_every_way_in_and_no_page_misses_its_icon(page: Page) -> None:
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer))
    page.goto("/")
    main = page.locator("main")
    for name, path in (
        ("Browse the competency frameworks", "/frameworks"),
        ("Verify a credential", "/verify"),
        ("Try it in the sandbox", "/sandbox"),  # the demo enables the sandbox
    ):
        expect(main.get_by_role("link", name=name)).to_have_attribute("href", path)
    check_accessibility(page)
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).status == 200
    assert page.request.get("/favicon.ico").status == 200
    assert [a.url for a in answers if a.status == 404] == []


def test_the_sandbox_keeps_the_chosen_learner(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Try it in the sandbox").click()
    page.get_by_label("Act as").select_option(label="Bea Wong — Learner")
    page.get_by_role("button", name="Switch user").click()
    expect(page.get_by_text("You are Bea Wong, learner")).to_be_visible()
    page.goto("/")
    page.get_by_role("link", name="Try it in the sandbox").click()
    expect(page.get_by_text("You are Bea Wong, learner")).to_be_visible()
    expect(page.get_by_role("button", name="Add content from the tool")).to_have_count(0)
