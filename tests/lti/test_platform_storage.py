"""LTI platform storage: a browser that keeps no cookie in the LMS frame launches by proving, via
the platform's storage (postMessage, driven by the pages' scripts, simulated here), that it started
the login; its pages then work on a server-side session keyed by the launch, which opens only with
the page's CSRF token from the launch's User-Agent, and whose id stays out of access logs."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config
from gunicorn.glogging import Logger as GunicornLogger
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms_plugin.database import db
from lms_plugin.lti import claims, platform_storage
from lms_plugin.lti.models import LaunchState, Person
from lms_plugin.orm import utcnow
from tests.browser import check_accessibility
from tests.lti.platform import INSTRUCTOR, LtiPlatform

BASE = "http://tool.test"
STORAGE = {"lti_storage_target": "_parent"}


def storage_login(client: FlaskClient, platform: LtiPlatform) -> tuple[dict[str, str], str]:
    """The login page's parameters for the platform's authorization, and the stored secret."""
    page = client.get(
        "/lti/login",
        query_string={
            "iss": platform.issuer,
            "login_hint": "hint",
            "target_link_uri": f"{BASE}/lti/launch",
            "client_id": platform.client_id,
            **STORAGE,
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '"lti.put_data"' in html
    auth_url = unescape(re.search(r'<a href="([^"]+)">Continue</a>', html).group(1))  # type: ignore[union-attr]
    assert auth_url.startswith(platform.auth_login_url + "?")
    secret = re.search(r'value: "([^"]+)"', html).group(1)  # type: ignore[union-attr]
    auth = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
    return auth, secret


AGENT = "Browser A"


@dataclass
class Cookieless:
    """A browser without cookies after a launch: its client, the launch id and the page's token."""

    client: FlaskClient
    launch_id: str
    csrf: str
    page: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-LTI-Launch-Id": self.launch_id, "X-CSRFToken": self.csrf}


def meta(html: str, name: str) -> str:
    return unescape(re.search(rf'name="{name}" content="([^"]+)"', html).group(1))  # type: ignore[union-attr]


def cookieless_launch(app: Flask, platform: LtiPlatform, **claims_: object) -> Cookieless:
    """Login and launch through the platform's storage, then open the launch page as the tool's
    continue page does (posting its CSRF token)."""
    client = app.test_client(use_cookies=False)
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    auth, secret = storage_login(client, platform)
    token = platform.sign(platform.claims(auth["nonce"], BASE, **claims_))
    form = {"id_token": token, "state": auth["state"], **STORAGE}
    check = client.post("/lti/launch", data=form)
    assert check.status_code == 200, check.get_data(as_text=True)
    assert '"lti.get_data"' in check.get_data(as_text=True)
    done = client.post(
        "/lti/launch", data={**form, "lti_storage_secret": secret}, headers={"Origin": BASE}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    html = done.get_data(as_text=True)
    action = re.search(r'<form method="post" action="(/launch/[^"]+)"', html).group(1)  # type: ignore[union-attr]
    page_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    page = client.post(action, data={"csrf_token": page_token})
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    return Cookieless(client, action.rsplit("/", 1)[1], meta(text, "csrf-token"), text)


def placed_version(app: Flask) -> dict[str, object]:
    from lms_plugin.frameworks import services as frameworks
    from lms_plugin.frameworks.parsing import read_framework_file
    from tests.builders import SEED_FILES

    with app.app_context():
        version = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))[0]
        db.session.commit()
        version_id = version.version.id
    return {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}


def staff_and_learner(app: Flask, platform: LtiPlatform) -> Cookieless:
    """A placed activity with one learner; returns the teacher's cookieless session."""
    custom = placed_version(app)
    cookieless_launch(app, platform, sub="learner-9", **custom)
    return cookieless_launch(
        app, platform, sub="teacher-9", **{claims.ROLES: [INSTRUCTOR]}, **custom
    )


def test_login_with_a_storage_target_keeps_the_state_in_the_platform_storage_too(
    client: FlaskClient, platform: LtiPlatform
) -> None:
    auth, secret = storage_login(client, platform)
    assert auth["state"] and len(secret) >= 40
    # The cookie is still set for browsers that keep it.
    assert client.get_cookie(f"lti1p3-{auth['state']}") is not None


def test_a_browser_without_cookies_launches_and_judges_through_platform_storage(
    app: Flask, platform: LtiPlatform
) -> None:
    teacher = staff_and_learner(app, platform)
    assert "Download grid (CSV)" in teacher.page
    grid = teacher.client.get("/api/v1/grid", headers=teacher.headers).json
    assert grid is not None
    learner_id = grid["learners"][0]["id"]
    statement_id = grid["levels"][0]["statements"][0]["id"]
    item = {"learner_id": learner_id, "statement_id": statement_id, "verdict": "met"}
    judged = teacher.client.post(
        "/api/v1/judgements", headers=teacher.headers, json={"judgements": [item]}
    )
    assert judged.status_code == 201, judged.json
    no_csrf = teacher.client.post(
        "/api/v1/judgements",
        headers={"X-LTI-Launch-Id": teacher.launch_id},
        json={"judgements": [item]},
    )
    assert no_csrf.status_code == 403


def test_the_launch_id_alone_opens_nothing(app: Flask, platform: LtiPlatform) -> None:
    """The id is in URLs (and so possibly in some proxy's log): without the page's CSRF token,
    and from another User-Agent, it opens no page and no API."""
    teacher = staff_and_learner(app, platform)
    page_url = f"/launch/{teacher.launch_id}"
    stranger = app.test_client(use_cookies=False)
    stranger.environ_base["HTTP_USER_AGENT"] = "Browser B"
    id_only = {"X-LTI-Launch-Id": teacher.launch_id}
    # The id alone, from the same browser too: nothing.
    for client in (stranger, teacher.client):
        assert client.get(page_url).status_code == 403
        assert client.post(page_url).status_code == 403
        assert client.get(f"{page_url}/overview").status_code == 403
        assert client.get("/api/v1/grid", headers=id_only).status_code == 403
        assert (
            client.get(f"/api/v1/export/grid.csv?launch_id={teacher.launch_id}").status_code == 403
        )
    # Even with the page's token, another User-Agent gets nothing.
    assert stranger.get("/api/v1/grid", headers=teacher.headers).status_code == 403
    assert stranger.post(page_url, data={"csrf_token": teacher.csrf}).status_code == 403
    grid = teacher.client.get("/api/v1/grid", headers=teacher.headers).json
    assert grid is not None
    item = {
        "learner_id": grid["learners"][0]["id"],
        "statement_id": grid["levels"][0]["statements"][0]["id"],
        "verdict": "met",
    }
    refused = stranger.post(
        "/api/v1/judgements", headers=teacher.headers, json={"judgements": [item]}
    )
    assert refused.status_code == 403
    history = teacher.client.get("/api/v1/judgements", headers=teacher.headers).json
    assert history == {"judgements": [], "submissions": []}
    # A token that is not this session's does not open it either.
    other = cookieless_launch(app, platform, sub="teacher-10", **{claims.ROLES: [INSTRUCTOR]})
    mixed = {"X-LTI-Launch-Id": teacher.launch_id, "X-CSRFToken": other.csrf}
    assert teacher.client.get("/api/v1/grid", headers=mixed).status_code == 403


def test_csv_downloads_and_page_forms_work_without_cookies(
    app: Flask, platform: LtiPlatform
) -> None:
    teacher = staff_and_learner(app, platform)
    for name in ("grid.csv", "history.csv"):
        # What grid.js does for the page's download links: fetch with the launch's headers.
        assert f'data-download="{name}"' in teacher.page
        response = teacher.client.get(f"/api/v1/export/{name}", headers=teacher.headers)
        assert response.status_code == 200 and response.mimetype == "text/csv"
    # The page's own links are forms posting the token; forms come back to the page (307).
    overview_form = re.search(r'<form method="post" action="([^"]+/overview)"', teacher.page)
    assert overview_form is not None
    overview = teacher.client.post(overview_form.group(1), data={"csrf_token": teacher.csrf})
    assert overview.status_code == 200 and "Cohort overview" in overview.get_data(as_text=True)
    form = {"csrf_token": teacher.csrf, "threshold_percent": "60"}
    rule = teacher.client.post(f"/launch/{teacher.launch_id}/rule", data=form)
    assert rule.status_code == 307
    assert rule.headers["Location"] == f"/launch/{teacher.launch_id}"
    # A browser re-posts the same form there (Flask's test client would drop the body).
    back = teacher.client.post(rule.headers["Location"], data=form)
    assert back.status_code == 200 and "60% of its statements" in back.get_data(as_text=True)


def test_a_cookieless_session_ends_after_two_idle_hours_and_slides_with_use(
    app: Flask, platform: LtiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = staff_and_learner(app, platform)
    key = f"launch-session:{teacher.launch_id}"

    def expires_in() -> float:
        with app.app_context():
            row = db.session.get(LaunchState, key)
            assert row is not None
            return (row.expires_at - utcnow()).total_seconds()

    assert platform_storage.SESSION_SECONDS == 2 * 3600
    assert 2 * 3600 - 60 < expires_in() <= 2 * 3600
    # Used again after the refresh interval: two more hours from now.
    later = time.time() + platform_storage.REFRESH_SECONDS + 60
    monkeypatch.setattr(platform_storage.time, "time", lambda: later)
    with app.app_context():
        row = db.session.get(LaunchState, key)
        assert row is not None
        row.expires_at = utcnow() + dt.timedelta(minutes=10)
        db.session.commit()
    assert teacher.client.get("/api/v1/grid", headers=teacher.headers).status_code == 200
    assert expires_in() > 2 * 3600 - 60
    # Idle past its life: gone.
    with app.app_context():
        row = db.session.get(LaunchState, key)
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    assert teacher.client.get("/api/v1/grid", headers=teacher.headers).status_code == 403


def test_a_forged_origin_a_wrong_secret_or_a_replay_is_refused(
    app: Flask, platform: LtiPlatform
) -> None:
    client = app.test_client(use_cookies=False)
    for origin, tamper in (("https://evil.example.com", False), (None, False), (BASE, True)):
        auth, secret = storage_login(client, platform)
        token = platform.sign(platform.claims(auth["nonce"], BASE))
        headers = {"Origin": origin} if origin else {}
        response = client.post(
            "/lti/launch",
            data={
                "id_token": token,
                "state": auth["state"],
                "lti_storage_secret": secret + ("x" if tamper else ""),
                **STORAGE,
            },
            headers=headers,
        )
        assert response.status_code == 400, (origin, tamper)
    auth, secret = storage_login(client, platform)
    form = {
        "id_token": platform.sign(platform.claims(auth["nonce"], BASE)),
        "state": auth["state"],
        "lti_storage_secret": secret,
        **STORAGE,
    }
    first = client.post("/lti/launch", data=form, headers={"Origin": BASE})
    assert first.status_code == 200 and 'id="continue-launch"' in first.get_data(as_text=True)
    replay = client.post("/lti/launch", data=form, headers={"Origin": BASE})
    assert replay.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_access_logs_of_the_development_server_leave_launch_ids_out(
    app: Flask, platform: LtiPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    teacher = staff_and_learner(app, platform)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            requests.get(f"{base}/launch/{teacher.launch_id}", timeout=10)
            requests.get(f"{base}/api/v1/export/grid.csv?launch_id={teacher.launch_id}", timeout=10)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /launch/[redacted] HTTP/1.1" in line for line in lines), lines
    assert any("launch_id=[redacted]" in line for line in lines), lines
    assert not any(teacher.launch_id in line for line in lines)


def test_gunicorn_access_logs_leave_launch_ids_out(app: Flask, tmp_path: Path) -> None:
    launch_id = "Zx9_-" + "a" * 27
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = GunicornLogger(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/launch/{launch_id}/overview",
        "PATH_INFO": f"/launch/{launch_id}/overview",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://tool.test/api/v1/export/grid.csv?launch_id={launch_id}",
        "HTTP_USER_AGENT": AGENT,
    }
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    try:
        logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(seconds=0))
    finally:
        for handler in list(logger.access_log.handlers):
            logger.access_log.removeHandler(handler)
            handler.close()
    line = (tmp_path / "access.log").read_text()
    assert '"POST /launch/[redacted]/overview HTTP/1.1" 200' in line
    assert "grid.csv?launch_id=[redacted]" in line
    assert launch_id not in line


def test_a_cookieless_grid_in_chromium_judges_navigates_and_downloads_csv(
    app: Flask, platform: LtiPlatform, browser: Browser
) -> None:
    """grid.js sends the launch's headers, the page links post the token, and the CSV downloads
    are fetched with the headers and saved: all with no cookie in the browser."""
    teacher = staff_and_learner(app, platform)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{server.server_port}", user_agent=AGENT, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/healthz")
        # Open the launch page as the tool's continue page does: post the token.
        page.set_content(
            f'<form method="post" action="{page.url.rsplit("/", 1)[0]}/launch/{teacher.launch_id}">'
            f'<input type="hidden" name="csrf_token" value="{teacher.csrf}"></form>'
        )
        page.evaluate("document.forms[0].submit()")
        cell = page.locator("tbody button.cell").first
        expect(cell).to_have_attribute("tabindex", "0")  # grid.js has set up the roving focus
        cell.focus()
        page.keyboard.press("m")
        expect(page.locator("#grid-status")).to_have_text(re.compile("^Saved"))
        with page.expect_download() as download:
            page.get_by_role("link", name="Download grid (CSV)").click()
        csv_text = Path(download.value.path()).read_text(encoding="utf-8")
        assert download.value.suggested_filename == "grid.csv"
        assert csv_text.startswith("learner_id,learner,levels_achieved") and "met" in csv_text
        page.get_by_role("button", name="Cohort overview").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Cohort overview")
        check_accessibility(page)
        page.get_by_role("button", name="Back to the grid").click()
        expect(page.locator("tbody button.cell").first).to_have_attribute("data-verdict", "met")
        # The grid's filter and sort post the token too (they run on the server).
        page.get_by_label("Sort by").select_option("progress")
        page.get_by_label("Filter learners by name").fill("no such learner")
        page.get_by_label("Filter learners by name").press("Enter")
        expect(page.locator("#grid-summary")).to_contain_text("None of 1 learner whose names")
        expect(page.get_by_label("Sort by")).to_have_value("progress")
        assert context.cookies() == []
    finally:
        context.close()
        server.shutdown()
        thread.join()
        server.server_close()
