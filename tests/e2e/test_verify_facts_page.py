"""The verify page shows what a credential says (achievement, level, framework, issuer and how
far it is trusted, earner, dates, status), readable at 390 px and without axe-core violations."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.browser import check_accessibility
from tests.credentials.conftest import FRAMEWORK, IssuerWorld
from tests.credentials.test_verify_facts import foreign

NARROW = {"width": 390, "height": 844}


def test_the_verify_page_says_what_the_credential_is_and_who_issued_it(page: Page) -> None:
    credential = foreign(IssuerWorld())
    page.goto("/verify")
    page.get_by_label("Paste the credential (JSON)").fill(json.dumps(credential))
    with page.expect_response(lambda r: r.url.endswith("/verify")) as answer:
        page.get_by_role("button", name="Verify").click()

    assert answer.value.status == 200
    expect(page.get_by_role("status")).to_contain_text("Verified")
    facts = page.locator("dl.facts")
    for term, value in (
        ("Achievement", credential["name"]),
        ("Level", "Proficient"),
        ("Framework", f"{FRAMEWORK.title}, version {FRAMEWORK.version}"),
        ("Issued by", "Example College"),
        ("Earned by", "Ada Lovelace"),
        ("Expires", "Never (no expiry date)"),
        ("Status", "Not revoked"),
    ):
        expect(facts.locator(f"dt:text-is('{term}') + dd")).to_contain_text(value)
    expect(facts).to_contain_text("Issuer unknown: not this tool")
    expect(page.get_by_role("heading", name="Statements (2)")).to_be_visible()
    expect(page.locator("ul.statements a")).to_have_count(2)
    check_accessibility(page)
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390 px window"
