"""Health check, landing page and error answers."""

from __future__ import annotations

from pathlib import Path

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
