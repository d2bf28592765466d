"""The sandbox LRS answers like an LRS to what the tool's delivery sends (basic auth, the xAPI
version header, POST and PUT, duplicates and conflicts), and its page lists what it received."""

from __future__ import annotations

import copy
import json
import re
import uuid
from html import unescape
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.sandbox.lrs import lrs_settings
from lms_plugin.sandbox.models import SandboxLrsStatement
from xapi.lrs import LrsClient, LrsSettings

URL = "/sandbox/lrs/xAPI/statements"
COURSE = "http://tool.test/courses/7"
OTHER_COURSE = "http://tool.test/courses/8"


@pytest.fixture
def lrs_app(make_app: Any) -> Flask:
    app: Flask = make_app(SANDBOX_ENABLED=True)
    return app


@pytest.fixture
def client(lrs_app: Flask) -> FlaskClient:
    return lrs_app.test_client()


def delivery_headers(app: Flask) -> dict[str, str]:
    """The headers the tool's LRS client sends with the demo's sandbox settings."""
    config = lrs_settings(app.config["BASE_URL"], app.config["SECRET_KEY"])
    settings = LrsSettings(
        config["XAPI_LRS_ENDPOINT"], config["XAPI_LRS_USERNAME"], config["XAPI_LRS_PASSWORD"]
    )
    lrs_client = LrsClient(settings)
    prepared = lrs_client.session.prepare_request(
        requests.Request("POST", settings.statements_url, data=b"[]")
    )
    lrs_client.close()
    assert prepared.url == "http://tool.test" + URL
    return {k: v for k, v in prepared.headers.items() if k != "Content-Length"}


def statement(
    verb: str = "achieved", course: str = COURSE, statement_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {"name": "Chloé Dubois", "account": {"homePage": "http://lms", "name": "c"}},
        "verb": {"id": f"https://w3id.org/xapi/tla/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"id": "http://tool.test/x", "definition": {"name": {"en-US": "Filing"}}},
        "result": {"success": True, "response": "well done"},
        "timestamp": "2026-12-01T10:00:00.000Z",
        "context": {
            "contextActivities": {
                "grouping": [
                    {"id": "http://tool.test/frameworks/1", "definition": {"type": "x"}},
                    {
                        "id": course,
                        "definition": {
                            "type": "http://adlnet.gov/expapi/activities/course",
                            "name": {"en-US": f"Course {course[-1]}"},
                        },
                    },
                ]
            }
        },
    }


def post(client: FlaskClient, headers: dict[str, str], body: Any) -> Any:
    return client.post(URL, data=json.dumps(body), headers=headers)


def stored(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SandboxLrsStatement)) or 0


def test_a_batch_is_stored_and_answered_with_its_ids(lrs_app: Flask, client: FlaskClient) -> None:
    headers = delivery_headers(lrs_app)
    batch = [statement(), statement("earned")]
    answer = post(client, headers, batch)
    assert answer.status_code == 200
    assert answer.json == [item["id"] for item in batch]
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"
    assert stored(lrs_app) == 2


def test_without_the_sandbox_credentials_nothing_is_stored(
    lrs_app: Flask, client: FlaskClient
) -> None:
    headers = delivery_headers(lrs_app)
    without_auth = {k: v for k, v in headers.items() if k != "Authorization"}
    answer = post(client, without_auth, [statement()])
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    wrong = {**headers, "Authorization": "Basic c2FuZGJveC1scnM6d3Jvbmc="}  # sandbox-lrs:wrong
    assert post(client, wrong, [statement()]).status_code == 401
    assert post(client, {**headers, "Authorization": "Basic %%%"}, [statement()]).status_code == 401
    assert stored(lrs_app) == 0


def test_the_version_header_is_required(lrs_app: Flask, client: FlaskClient) -> None:
    headers = delivery_headers(lrs_app)
    missing = {k: v for k, v in headers.items() if k != "X-Experience-API-Version"}
    answer = post(client, missing, [statement()])
    assert answer.status_code == 400
    assert "X-Experience-API-Version" in answer.json["error"]
    newer = {**headers, "X-Experience-API-Version": "2.0.0"}
    assert post(client, newer, statement()).status_code == 400
    assert stored(lrs_app) == 0


def test_the_same_statement_again_is_accepted_a_different_one_under_its_id_is_a_conflict(
    lrs_app: Flask, client: FlaskClient
) -> None:
    headers = delivery_headers(lrs_app)
    first = statement()
    assert post(client, headers, [first]).status_code == 200
    again = post(client, headers, [first, statement("earned")])
    assert again.status_code == 200
    assert stored(lrs_app) == 2

    changed = copy.deepcopy(first)
    changed["result"]["success"] = False
    newcomer = statement("earned")
    conflict = post(client, headers, [newcomer, changed])
    assert conflict.status_code == 409
    assert first["id"] in conflict.json["error"]
    assert stored(lrs_app) == 2  # all or nothing: the newcomer was not kept either


def test_put_stores_one_statement_by_its_id(lrs_app: Flask, client: FlaskClient) -> None:
    headers = delivery_headers(lrs_app)
    one = statement()
    url = f"{URL}?statementId={one['id']}"
    assert client.put(url, data=json.dumps(one), headers=headers).status_code == 204
    assert client.put(url, data=json.dumps(one), headers=headers).status_code == 204
    other = statement("earned", statement_id=one["id"])
    assert client.put(url, data=json.dumps(other), headers=headers).status_code == 409
    elsewhere = f"{URL}?statementId={uuid.uuid4()}"
    assert client.put(elsewhere, data=json.dumps(one), headers=headers).status_code == 400
    assert client.put(URL, data=json.dumps(one), headers=headers).status_code == 400
    assert stored(lrs_app) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'[{"actor": {}, "verb": {"id": "v"}}]',
        b'{"id": "not-a-uuid", "actor": {}, "verb": {"id": "v"}, "object": {}}',
        b'{"actor": {"name": "\\u0000"}, "verb": {"id": "v"}, "object": {}}',
    ],
)
def test_invalid_statements_are_refused_with_400(
    lrs_app: Flask, client: FlaskClient, body: bytes
) -> None:
    answer = client.post(URL, data=body, headers=delivery_headers(lrs_app))
    assert answer.status_code == 400
    assert answer.json["error"]
    assert stored(lrs_app) == 0


def test_duplicate_ids_in_one_batch_are_refused(lrs_app: Flask, client: FlaskClient) -> None:
    one = statement()
    answer = post(client, delivery_headers(lrs_app), [one, one])
    assert answer.status_code == 400
    assert stored(lrs_app) == 0


def test_a_statement_without_id_gets_one(lrs_app: Flask, client: FlaskClient) -> None:
    one = statement()
    del one["id"]
    answer = post(client, delivery_headers(lrs_app), one)
    assert answer.status_code == 200
    assert str(uuid.UUID(answer.json[0])) == answer.json[0]


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    chunks = body.split('<tr class="statement">')[1:]
    return [unescape(re.sub(r"\s+", " ", chunk.split("</tr>")[0])) for chunk in chunks]


def test_the_page_lists_statements_newest_first_per_course(
    lrs_app: Flask, client: FlaskClient
) -> None:
    headers = delivery_headers(lrs_app)
    for verb, course in (("judged", COURSE), ("earned", OTHER_COURSE), ("achieved", COURSE)):
        assert post(client, headers, [statement(verb, course)]).status_code == 200

    page = client.get("/sandbox/lrs")
    assert page.status_code == 200
    assert "Sandbox LRS — a demonstration, not an LRS for production" in page.text
    listed = rows(page.text)
    assert [re.search(r"(judged|earned|achieved)", row).group(1) for row in listed] == [  # type: ignore[union-attr]
        "achieved",
        "earned",
        "judged",
    ]
    assert "Chloé Dubois" in listed[0] and "Filing" in listed[0]
    assert "success" in listed[0] and "“well done”" in listed[0]
    assert "<details>" in page.text and "&#34;verb&#34;" in page.text

    one_course = client.get("/sandbox/lrs", query_string={"course": COURSE})
    assert [("earned" in row) for row in rows(one_course.text)] == [False, False]
    assert '<option value="http://tool.test/courses/8" >Course 8</option>' in one_course.text


def test_the_sandbox_lrs_exists_only_with_the_sandbox(make_app: Any) -> None:
    app = make_app()
    assert app.test_client().post(URL, data="[]").status_code == 404
    assert app.test_client().get("/sandbox/lrs").status_code == 404
