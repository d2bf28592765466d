"""The public credential page in Chromium (issue 14): who earned it (the learner chose to show
their name), the badge image, the evidence with the evaluator's shown comment, LinkedIn and the
downloads while the credential is in force, Open Graph and Twitter card tags for a shared link,
an employer checking an e-mail address against the credential; once revoked, the reason (said
once) and no offer to share. axe-core clean and no sideways scroll at 390 px. `SHOTS` set:
screenshots at 390 and 1366 px saved there.

The tool runs in-process on both databases; launches and judging go through Flask's test client,
the employer's page through the browser."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from lms_plugin import worker
from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from tests.browser import check_accessibility
from tests.builders import SEED_FILES
from tests.courses import Session
from tests.live_server import free_port
from tests.lti.platform import INSTRUCTOR, KeySetServer, LtiPlatform

NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}
SHOTS = os.environ.get("SHOTS")
EARNER = "ada.lovelace@example.org"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@dataclass
class Tool:
    app: Flask
    url: str
    platform: LtiPlatform

    def launch(self, sub: str, name: str, role: str, custom: dict[str, Any]) -> Session:
        client = self.app.test_client()
        response = self.platform.launch(
            client, self.url, sub=sub, name=name, **{claims.ROLES: [role]}, **custom
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        location = response.headers["Location"]
        token = re.search(
            r'name="csrf-token" content="([^"]+)"', client.get(location).get_data(as_text=True)
        )
        assert token
        return Session(client, location.rsplit("/", 1)[1], token.group(1))


@pytest.fixture
def tool(
    make_app: Callable[..., Flask], platform_key: rsa.RSAPrivateKey, keyset: KeySetServer
) -> Iterator[Tool]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(BASE_URL=url, ALLOW_HTTP_PLATFORMS=True)
    platform = LtiPlatform(platform_key, keyset)
    platform.register(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Tool(app, url, platform)
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def page(browser: Browser, tool: Tool) -> Iterator[Page]:
    context = browser.new_context(base_url=tool.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def issued_credential(tool: Tool) -> tuple[Session, Session, dict[str, Any]]:
    """Ada (who shows her name) achieves Emerging; the first statement has evidence and a comment
    the evaluator chose to show."""
    with tool.app.app_context():
        version = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
        custom = {claims.CUSTOM: {"framework": str(version[0].version.id), "levels": "emerging"}}
    learner = tool.launch("learner-ada", "Ada Lovelace", LEARNER, custom | {"email": EARNER})
    shown = learner.client.post(
        f"/launch/{learner.launch_id}/credentials/name",
        data={"csrf_token": learner.csrf, "show_name": "yes"},
    )
    assert shown.status_code == 303
    staff = tool.launch("teacher-1", "Tess Teacher", INSTRUCTOR, custom)
    grid = staff.get("/api/v1/grid").json
    [ada] = grid["learners"]
    items = [
        {"learner_id": ada["id"], "statement_id": s["id"], "verdict": "met"}
        for s in grid["levels"][0]["statements"]
    ]
    items[0] |= {
        "evidence_url": "https://portfolio.example.org/ada/filing-system-with-a-long-address",
        "comment": "Reorganised the whole case archive unaided.",
        "show_in_credential": True,
    }
    assert staff.post("/api/v1/judgements", {"judgements": items}).status_code == 201
    with tool.app.app_context():
        worker.issue_credentials_once()
    [credential] = learner.get("/api/v1/progress").json["credentials"]
    return learner, staff, credential


def share_offers(page: Page) -> int:
    return page.locator("a[href*='linkedin.com'], a[href*='download=1']").count()


def assert_fits_narrow(page: Page) -> None:
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390 px window"


def screenshots(page: Page, name: str) -> None:
    """With `SHOTS` set, the whole page at 390 and at 1366 px."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for size in (NARROW, WIDE):
        page.set_viewport_size(size)
        page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png", full_page=True)


def check_email(page: Page, email: str) -> str:
    """An employer types an address into the page's e-mail check: the answer given."""
    page.get_by_role("textbox", name="E-mail address").fill(email)
    page.get_by_role("button", name="Check").click()
    answer = page.locator(".identity-answer")
    expect(answer).to_be_visible()
    return answer.inner_text()


def test_the_public_page_shows_who_what_and_evidence_and_shares_until_revoked(
    page: Page, tool: Tool
) -> None:
    _, staff, credential = issued_credential(tool)
    page.goto(credential["url"])

    expect(page.get_by_role("heading", level=1)).to_contain_text("Emerging")
    expect(page.get_by_text("Earned by Ada Lovelace.")).to_be_visible()
    badge = page.locator("img.badge-image")
    expect(badge).to_have_attribute("alt", re.compile(r"^Badge for the Emerging level of"))
    assert page.evaluate("document.querySelector('img.badge-image').naturalWidth") == 400
    evidence = page.locator("section[aria-labelledby=evidence] li")
    expect(evidence.first).to_contain_text("Judged met on")
    expect(evidence.first).to_contain_text(
        "Evaluator's comment: Reorganised the whole case archive"
    )
    expect(evidence.first.get_by_role("link")).to_have_attribute(
        "href", "https://portfolio.example.org/ada/filing-system-with-a-long-address"
    )
    assert share_offers(page) == 3
    linkedin = page.get_by_role("link", name=re.compile("Add to LinkedIn"))
    expect(linkedin).to_have_attribute("href", re.compile(r"startTask=CERTIFICATION_NAME&name="))

    meta = {
        key: page.locator(f"meta[{attribute}='{key}']").get_attribute("content")
        for attribute, key in (
            ("property", "og:title"),
            ("property", "og:image"),
            ("property", "og:url"),
            ("name", "twitter:card"),
            ("name", "twitter:image"),
        )
    }
    assert meta["og:title"].endswith(": Emerging") and meta["og:url"] == credential["url"]
    assert meta["twitter:card"] == "summary" and meta["twitter:image"] == meta["og:image"]
    assert (
        requests.get(meta["og:image"], timeout=5)
        .headers["Content-Type"]
        .startswith("image/svg+xml")
    )
    assert "{" not in page.locator("main").inner_text()  # no raw JSON anywhere on the page
    check_accessibility(page)
    assert_fits_narrow(page)
    screenshots(page, "credential")

    # An employer checks an e-mail address: yes for the earner's (as typed), no for another.
    expect(page.get_by_role("heading", name="Check an e-mail address")).to_be_visible()
    assert (
        check_email(page, "  Ada.Lovelace@EXAMPLE.org ")
        == f"✓ {EARNER} is the earner's e-mail address."
    )
    check_accessibility(page)
    page.goto(credential["url"])
    assert (
        check_email(page, "ada@example.org")
        == "✗ ada@example.org is not the earner's e-mail address."
    )
    page.goto(credential["url"])

    revoked = staff.client.post(
        f"/launch/{staff.launch_id}/credentials/{credential['id']}/revoke",
        data={"csrf_token": staff.csrf, "reason": "Judged in the wrong course."},
    )
    assert revoked.status_code == 303
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    headline = page.locator(".verdict-banner")
    expect(headline).to_contain_text("Revoked on")
    expect(headline).to_contain_text("Judged in the wrong course.")
    expect(page.get_by_text("Revoked on")).to_have_count(1)  # said once, in the headline
    expect(page.get_by_text("Judged in the wrong course.")).to_have_count(1)
    assert share_offers(page) == 0
    expect(page.get_by_role("heading", name="Check", exact=True)).to_be_visible()
    check_accessibility(page)
    assert_fits_narrow(page)
    screenshots(page, "credential-revoked")
