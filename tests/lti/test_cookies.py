"""Cookies in an LMS iframe: SameSite=None; Secure; Partitioned over HTTPS, and a browser-side
cookie check (with a new-window fallback) for logins inside an iframe."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.lti.platform import LtiPlatform

HTTPS_BASE = "https://tool.test"


def test_over_https_launch_cookies_are_cross_site_and_partitioned(
    make_app: Callable[..., Flask], platform: LtiPlatform
) -> None:
    app = make_app(BASE_URL=HTTPS_BASE)
    client = app.test_client()
    login = client.get(
        "/lti/login",
        base_url=HTTPS_BASE,
        query_string={
            "iss": platform.issuer,
            "login_hint": "x",
            "target_link_uri": f"{HTTPS_BASE}/lti/launch",
            "client_id": platform.client_id,
        },
    )
    assert login.status_code == 302
    cookies = login.headers.getlist("Set-Cookie")
    assert any(cookie.startswith("lti1p3-state-") for cookie in cookies)
    assert any(cookie.startswith("lti1p3-session-id=") for cookie in cookies)
    for cookie in cookies:
        for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
            assert attribute in cookie, cookie

    auth = dict(
        pair.split("=", 1) for pair in login.headers["Location"].split("?", 1)[1].split("&")
    )
    token = platform.sign(platform.claims(auth["nonce"], HTTPS_BASE))
    launch = client.post(
        "/lti/launch", base_url=HTTPS_BASE, data={"id_token": token, "state": auth["state"]}
    )
    assert launch.status_code == 303, launch.get_data(as_text=True)
    session_cookie = next(
        c for c in launch.headers.getlist("Set-Cookie") if c.startswith("lms_plugin_session=")
    )
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in session_cookie
    assert client.get(launch.headers["Location"], base_url=HTTPS_BASE).status_code == 200


def test_over_plain_http_cookies_are_lax(make_app: Callable[..., Flask]) -> None:
    """Browsers refuse SameSite=None without Secure, so the local demo uses Lax."""
    config = make_app(BASE_URL="http://127.0.0.1:5000").config
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_PARTITIONED"] is False


def test_a_login_inside_an_iframe_first_checks_cookies(app: Flask, platform: LtiPlatform) -> None:
    client = app.test_client()
    params = {
        "iss": platform.issuer,
        "login_hint": "x",
        "target_link_uri": "http://tool.test/lti/launch",
        "client_id": platform.client_id,
    }
    check = client.get("/lti/login", query_string=params, headers={"Sec-Fetch-Dest": "iframe"})
    assert check.status_code == 200
    html = check.get_data(as_text=True)
    assert "Open the tool in a new window" in html
    assert "lti1p3_new_window=1" in html
    assert check.headers.getlist("Set-Cookie") == []

    checked = client.get(
        "/lti/login",
        query_string={**params, "lti1p3_new_window": "1"},
        headers={"Sec-Fetch-Dest": "iframe"},
    )
    assert checked.status_code == 302
