"""LTI platform storage: a browser that keeps no cookie in the LMS frame launches by proving, via
the platform's storage (postMessage, driven by the pages' scripts, simulated here), that it started
the login; its pages then work on a server-side session keyed by the launch."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.lti import claims
from lms_plugin.lti.models import Person
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


def cookieless_launch(
    app: Flask, platform: LtiPlatform, **claims_: object
) -> tuple[FlaskClient, str, str]:
    client = app.test_client(use_cookies=False)
    auth, secret = storage_login(client, platform)
    token = platform.sign(platform.claims(auth["nonce"], BASE, **claims_))
    form = {"id_token": token, "state": auth["state"], **STORAGE}
    check = client.post("/lti/launch", data=form)
    assert check.status_code == 200, check.get_data(as_text=True)
    assert '"lti.get_data"' in check.get_data(as_text=True)
    done = client.post(
        "/lti/launch", data={**form, "lti_storage_secret": secret}, headers={"Origin": BASE}
    )
    return client, done.headers.get("Location", ""), secret


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
    from lms_plugin.frameworks import services as frameworks
    from lms_plugin.frameworks.parsing import read_framework_file
    from tests.builders import SEED_FILES

    with app.app_context():
        version = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))[0]
        db.session.commit()
        version_id = version.version.id
    custom = {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}
    learner, location, _ = cookieless_launch(app, platform, sub="learner-9", **custom)
    assert location.startswith("/launch/")
    client, location, _ = cookieless_launch(
        app, platform, sub="teacher-9", **{claims.ROLES: [INSTRUCTOR]}, **custom
    )
    page = client.get(location)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    launch_id = location.rsplit("/", 1)[1]
    grid = client.get("/api/v1/grid", headers={"X-LTI-Launch-Id": launch_id}).json
    learner_id = grid["learners"][0]["id"]
    statement_id = grid["levels"][0]["statements"][0]["id"]
    judged = client.post(
        "/api/v1/judgements",
        headers={"X-LTI-Launch-Id": launch_id, "X-CSRFToken": csrf},
        json={
            "judgements": [
                {"learner_id": learner_id, "statement_id": statement_id, "verdict": "met"}
            ]
        },
    )
    assert judged.status_code == 201, judged.json
    no_csrf = client.post(
        "/api/v1/judgements",
        headers={"X-LTI-Launch-Id": launch_id},
        json={
            "judgements": [
                {"learner_id": learner_id, "statement_id": statement_id, "verdict": "met"}
            ]
        },
    )
    assert no_csrf.status_code == 403


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
    assert first.status_code == 303
    replay = client.post("/lti/launch", data=form, headers={"Origin": BASE})
    assert replay.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1
