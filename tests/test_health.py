"""Health check, landing page and error answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from lms_plugin import create_app


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


def test_landing_page_is_accessible_markup(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert '<main id="main"' in html and 'href="#main"' in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_errors_are_pages_for_browsers_and_json_for_the_api(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.get_data(as_text=True)

    api = client.get("/api/v1/nothing")
    assert api.status_code == 404
    assert api.json is not None and api.json["error"] == "Not Found"

    wrong_method = client.post("/healthz")
    assert wrong_method.status_code == 405


def test_landing_page_speaks_to_each_user_and_links_the_way_in(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for audience in ("Evaluators", "Learners", "Employers", "Administrators"):
        assert f">{audience}</h2>" in html
    assert 'href="/frameworks"' in html and 'href="/verify"' in html
    assert 'href="/sandbox"' not in html  # the sandbox is off here


def test_landing_page_links_the_sandbox_when_it_is_enabled(
    make_app: Callable[..., Flask],
) -> None:
    html = make_app(SANDBOX_ENABLED=True).test_client().get("/").get_data(as_text=True)
    assert 'href="/sandbox"' in html and "Try it in the sandbox" in html


def test_every_page_names_an_icon_that_exists_and_favicon_ico_answers(
    client: FlaskClient,
) -> None:
    html = client.get("/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon is not None
    for path in (icon.group(1), "/favicon.ico"):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert response.mimetype == "image/svg+xml"
            assert response.get_data(as_text=True).startswith("<svg ")
