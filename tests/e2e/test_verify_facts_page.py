"""The verify page shows what a credential says (achievement, level, framework, issuer and how
far it is trusted, earner, dates, status) under a headline saying plainly what is wrong, checks an
e-mail address against the earner's, takes a baked SVG badge, and recognises issuers listed in a
registry the operator trusts: readable at 390 px and without axe-core violations."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from lms_plugin.credentials import dids, signing
from tests.browser import check_accessibility
from tests.credentials.conftest import FRAMEWORK, IssuerWorld
from tests.credentials.test_baked_svg_verify import baked
from tests.credentials.test_verify_facts import foreign
from tests.live_server import demo_server

NARROW = {"width": 390, "height": 844}
EARNER = "Learner@Example.org"


def verify_pasted(page: Page, credential: dict[str, Any]) -> None:
    page.goto("/verify")
    page.get_by_label("Paste the credential (JSON)").fill(json.dumps(credential))
    with page.expect_response(lambda r: r.url.endswith("/verify")) as answer:
        page.get_by_role("button", name="Verify").click()
    assert answer.value.status == 200


def fits_narrow_window(page: Page) -> None:
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390 px window"


def test_the_verify_page_says_what_the_credential_is_and_who_issued_it(page: Page) -> None:
    credential = foreign(IssuerWorld())
    verify_pasted(page, credential)

    headline = page.locator(".verdict-banner")
    expect(headline).to_contain_text("Issuer unknown: authentic and unaltered")
    expect(page.locator(".trust-line")).to_have_text(
        "Issued by Example College. Not in any registry you trust."
    )
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
    fits_narrow_window(page)


def test_an_email_address_is_checked_against_the_earner(page: Page) -> None:
    verify_pasted(page, foreign(IssuerWorld()))

    page.get_by_label("E-mail address", exact=True).fill("  learner@EXAMPLE.org ")
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".identity-answer")).to_have_text(
        "✓ learner@example.org is the earner's e-mail address."
    )
    page.get_by_label("E-mail address", exact=True).fill("someone@example.org")
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".identity-answer")).to_have_text(
        "✗ someone@example.org is not the earner's e-mail address."
    )
    check_accessibility(page)
    fits_narrow_window(page)


def test_headlines_say_what_is_wrong(page: Page) -> None:
    world = IssuerWorld()
    altered = copy.deepcopy(foreign(world))
    altered["credentialSubject"]["achievement"]["name"] = "Chief Justice"
    verify_pasted(page, altered)
    expect(page.locator(".verdict-banner")).to_have_text(
        "✗ Altered after signing: this is not what the issuer signed."
    )
    check_accessibility(page)

    unsigned, _ = world.credential(
        issuer=dids.did_key(world.rogue),
        valid_from=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
        valid_until=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        with_status=False,
    )
    expired = signing.sign_credential(
        unsigned, world.rogue, dids.did_key_verification_method(world.rogue)
    )
    verify_pasted(page, expired)
    expect(page.locator(".verdict-banner")).to_have_text("✗ Expired on 2 Jan 2026, 03:04 UTC.")
    expect(page.locator(".verdict-banner time")).to_have_attribute(
        "datetime", "2026-01-02T03:04:00Z"
    )
    check_accessibility(page)
    fits_narrow_window(page)


def test_a_baked_badge_is_verified_by_upload(page: Page, tmp_path: Path) -> None:
    badge = tmp_path / "badge.svg"
    badge.write_bytes(baked(foreign(IssuerWorld())))
    page.goto("/verify")
    page.get_by_label("or upload its file (JSON, or a badge image in SVG)").set_input_files(badge)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verdict-banner")).to_contain_text("Issuer unknown")
    expect(page.locator("dl.facts dt:text-is('Earned by') + dd")).to_have_text("Ada Lovelace")


def test_an_issuer_in_a_trusted_registry_is_recognised(page: Page, tmp_path: Path) -> None:
    world = IssuerWorld()
    registry = {
        "meta": {"created": "2026-12-01T00:00:00+00:00"},
        "registry": {dids.did_key(world.rogue): {"name": "Ada's Academy", "location": "London"}},
    }
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    known = tmp_path / "known-did-registries.json"
    known.write_text(
        json.dumps([{"type": "dcc-legacy", "name": "Example Registry", "url": "registry.json"}])
    )
    settings = {"TRUSTED_REGISTRIES": str(known)}
    with demo_server(tmp_path / "instance", settings) as base_url:
        page.goto(f"{base_url}/verify")
        page.get_by_label("Paste the credential (JSON)").fill(json.dumps(foreign(world)))
        page.get_by_role("button", name="Verify").click()

        expect(page.locator(".verdict-banner")).to_have_text(
            "✓ Verified: authentic, unaltered, not revoked, not expired."
        )
        expect(page.locator(".trust-line")).to_have_text(
            "Issued by Ada's Academy, recognised by Example Registry."
        )
        expect(page.locator("dl.facts dt:text-is('Issued by') + dd")).to_contain_text(
            "Recognised by Example Registry, an issuer registry you trust."
        )
        check_accessibility(page)
        fits_narrow_window(page)
