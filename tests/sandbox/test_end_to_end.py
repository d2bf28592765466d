"""The sandbox and the real tool talking LTI 1.3 over real HTTP, with `requests` as the browser
(SQLite and PostgreSQL: the tool never holds a write transaction while it calls the sandbox, which
shares its database)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from html import unescape

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from lms_plugin import worker
from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.sandbox.models import SandboxLineItem, SandboxResourceLink
from lms_plugin.sandbox.setup import ensure_sandbox
from tests.builders import SEED_FILES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(database_url: str, make_app: Callable[..., Flask]) -> Iterator[tuple[str, Flask]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(BASE_URL=base, SANDBOX_ENABLED=True)
    with app.app_context():
        frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        ensure_sandbox(db.session, base)
        db.session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield base, app
    finally:
        server.shutdown()
        thread.join()


def form(html: str, form_id: str | None = None) -> tuple[str, dict[str, str]]:
    block = html
    if form_id:
        found = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
        assert found is not None, html
        block = found.group(0)
    action = re.search(r'<form[^>]*action="([^"]*)"', block)
    assert action is not None, html
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block)
    return unescape(action.group(1)), {k: unescape(v) for k, v in fields}


def launch(browser: requests.Session, base: str, **query: str) -> requests.Response:
    """From the sandbox's Launch button to the tool's page, following the OIDC redirects."""
    page = browser.get(
        f"{base}/sandbox/launch", params={**query, "presentation": "window"}, timeout=20
    )
    assert page.status_code == 200, page.text
    assert page.url.startswith(f"{base}/sandbox/auth?")  # via the tool's /lti/login
    action, fields = form(page.text, "lti-launch")
    assert action == f"{base}/lti/launch"
    answer = browser.post(action, data=fields, timeout=20)
    assert answer.status_code == 200, answer.text
    return answer


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_deep_linking_launches_and_roster_over_http(live: tuple[str, Flask]) -> None:
    base, app = live
    instructor = requests.Session()

    # Deep linking: the instructor adds the tool, choosing the first framework.
    chooser = launch(instructor, base, user="sandbox-user-ada", deep_linking="1")
    action, fields = form(chooser.text)
    first = re.search(r'name="framework" value="(\d+)"', chooser.text)
    assert first is not None, chooser.text
    fields["framework"] = first.group(1)
    returning = instructor.post(base + action, data=fields, timeout=20)
    assert returning.status_code == 200, returning.text
    action, fields = form(returning.text, "deep-link-return")
    assert action == f"{base}/sandbox/deep-link-return"
    added = instructor.post(action, data=fields, timeout=20)
    assert added.status_code == 200, added.text
    assert "Content added to Sandbox Course 101" in added.text

    with app.app_context():
        link = db.session.scalar(select(SandboxResourceLink))
        item = db.session.scalar(select(SandboxLineItem))
    assert link is not None and item is not None
    assert link.custom["framework"] == first.group(1)
    assert item.resource_link_id == link.id and item.score_maximum > 0

    # The instructor opens the placed link: the launch asked for the roster, the worker read it
    # over NRPS, so learners who never launched are listed.
    opened = launch(instructor, base, user="sandbox-user-ada", link=link.resource_link_id)
    assert "Updating the class list from the LMS" in text(opened.text)
    with app.app_context():
        assert worker.sync_rosters_once().delivered >= 1
    course_page = text(instructor.get(opened.url, timeout=20).text)
    assert "Sandbox Course 101" in course_page
    assert "Dmitri Ivanov" in course_page
    assert "Sam O'Brien" in course_page

    # A learner launches the same link in another browser.
    learner = launch(
        requests.Session(), base, user="sandbox-user-chloe", link=link.resource_link_id
    )
    assert learner.url.startswith(f"{base}/launch/")
    assert "Chloé Dubois" in text(learner.text)
    assert "Dmitri Ivanov" not in text(learner.text)
