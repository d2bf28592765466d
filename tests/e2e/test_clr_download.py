"""A learner downloads all their levels as one CLR from their page in Chromium (issue 14): the
link is there once they hold a credential in force, the file is named after the framework and
the day and holds the signed ClrCredential with both level credentials; the page is axe-core clean
and fits a 390 px window. The tool runs in-process on both databases; the launch and the judging
go through Flask's test client, whose session cookie the browser then carries."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from playwright.sync_api import Browser, expect
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

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@pytest.fixture
def served(
    make_app: Callable[..., Flask], platform_key: rsa.RSAPrivateKey, keyset: KeySetServer
) -> Iterator[tuple[Flask, str, LtiPlatform]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(BASE_URL=url, ALLOW_HTTP_PLATFORMS=True)
    platform = LtiPlatform(platform_key, keyset)
    platform.register(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield app, url, platform
    server.shutdown()
    thread.join()
    server.server_close()


def launch(
    app: Flask, url: str, platform: LtiPlatform, sub: str, role: str, **custom: Any
) -> Session:
    client = app.test_client()
    response = platform.launch(client, url, sub=sub, name=sub, **{claims.ROLES: [role]}, **custom)
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    return Session(client, location.rsplit("/", 1)[1], token.group(1))


def test_the_learner_saves_their_levels_as_one_clr(
    browser: Browser, served: tuple[Flask, str, LtiPlatform], tmp_path: Path
) -> None:
    app, url, platform = served
    with app.app_context():
        imported = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))[0]
        db.session.commit()
        version = imported.version
        title = version.title
    custom = {
        claims.CUSTOM: {"framework": str(version.id), "levels": "emerging,developing"},
        claims.CONTEXT: {"id": "course-1", "title": "Course 1"},
    }
    learner = launch(app, url, platform, "learner-1", LEARNER, **custom)
    staff = launch(app, url, platform, "teacher-1", INSTRUCTOR, **custom)
    grid = staff.get("/api/v1/grid").json
    [learner_row] = grid["learners"]
    items = [
        {"learner_id": learner_row["id"], "statement_id": s["id"], "verdict": "met"}
        for level in grid["levels"]
        for s in level["statements"]
    ]
    assert staff.post("/api/v1/judgements", {"judgements": items}).status_code == 201
    with app.app_context():
        worker.issue_credentials_once()

    context = browser.new_context(base_url=url, accept_downloads=True)
    context.set_default_timeout(10_000)
    cookie = learner.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])
    page = context.new_page()
    try:
        page.goto(f"/launch/{learner.launch_id}")
        link = page.get_by_role("link", name="Download all my levels (CLR)")
        expect(link).to_be_visible()
        check_accessibility(page)
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a 390 px window"
        with page.expect_download() as waiting:
            link.click()
        download = waiting.value
        assert re.fullmatch(r"[a-z0-9-]+-levels-\d{4}-\d\d-\d\d\.json", download.suggested_filename)
        assert download.suggested_filename.startswith(title.lower().split()[0])
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    finally:
        context.close()
    bundle = json.loads(saved.read_text("utf-8"))
    assert bundle["type"] == ["VerifiableCredential", "ClrCredential"]
    assert len(bundle["credentialSubject"]["verifiableCredential"]) == 2
