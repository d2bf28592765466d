"""The deep-linking return: the tool's signed response adds resource links and line items."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.sandbox.models import SandboxLineItem, SandboxResourceLink
from tests.sandbox.helpers import BASE, INSTRUCTOR, LEARNER, TA, FakeTool, launch

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def content_item(**extra: Any) -> dict[str, Any]:
    item = {
        "type": "ltiResourceLink",
        "title": "Legal Secretaries — competencies (Basic, Expert)",
        "url": f"{BASE}/lti/launch",
        "custom": {"framework": "12", "levels": "basic,expert"},
        "lineItem": {
            "scoreMaximum": 2,
            "label": "Legal Secretaries — levels",
            "resourceId": "framework-12-basic-expert",
            "tag": "competency-levels",
        },
    }
    item.update(extra)
    return item


def response_claims(data: str, items: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "sandbox-tool",
        "aud": f"{BASE}/sandbox",
        "iat": now,
        "exp": now + 600,
        "nonce": f"nonce-{now}-{id(extra)}",
        LTI + "deployment_id": "sandbox-deployment-1",
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        DL + "content_items": [content_item()] if items is None else items,
        DL + "data": data,
        DL + "msg": "Placed <the> framework",
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def deep_link_data(client: FlaskClient, user: str = INSTRUCTOR) -> str:
    claims = launch(client, user, deep_linking=True)
    return str(claims[DL + "deep_linking_settings"]["data"])


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        links = db.session.scalar(select(func.count()).select_from(SandboxResourceLink)) or 0
        items = db.session.scalar(select(func.count()).select_from(SandboxLineItem)) or 0
        return links, items


def test_response_adds_links_with_custom_parameters_and_line_items(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    data = deep_link_data(client, TA)
    second = content_item(title="Second", custom=None, lineItem=None, url=None)
    token = tool.sign(response_claims(data, [content_item(), second]))
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "Content added to Sandbox Course 101" in html
    assert f'href="/sandbox?as={TA}" target="_top">Back to the sandbox course' in html
    assert "Placed &lt;the&gt; framework" in html
    assert "framework=12" in html

    with sandbox.app_context():
        links = db.session.scalars(select(SandboxResourceLink).order_by(SandboxResourceLink.id))
        first, other = links.all()
        assert first.title == "Legal Secretaries — competencies (Basic, Expert)"
        assert first.custom == {"framework": "12", "levels": "basic,expert"}
        assert first.target_link_uri == f"{BASE}/lti/launch"
        assert other.custom == {}
        assert other.target_link_uri == f"{BASE}/lti/launch"
        item = db.session.scalar(select(SandboxLineItem))
        assert item is not None
        assert item.resource_link_id == first.id
        assert item.label == "Legal Secretaries — levels"
        assert item.score_maximum == 2
        assert item.resource_id == "framework-12-basic-expert"
        assert item.tag == "competency-levels"

    # The new link launches with its custom parameters and its own line item.
    claims = launch(client, LEARNER, first.resource_link_id)
    assert claims[LTI + "custom"] == {"framework": "12", "levels": "basic,expert"}
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitem"].endswith(f"/lineitems/{item.id}")
    assert "Legal Secretaries — competencies" in client.get("/sandbox").get_data(as_text=True)


def test_empty_response_adds_nothing(sandbox: Flask, client: FlaskClient, tool: FakeTool) -> None:
    data = deep_link_data(client)
    token = tool.sign(response_claims(data, [], **{DL + "errormsg": "Cancelled"}))
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 200
    assert "Nothing was added" in response.get_data(as_text=True)
    assert "Cancelled" in response.get_data(as_text=True)
    assert stored(sandbox) == (0, 0)


def test_replayed_response_is_refused(sandbox: Flask, client: FlaskClient, tool: FakeTool) -> None:
    token = tool.sign(response_claims(deep_link_data(client)))
    assert client.post("/sandbox/deep-link-return", data={"JWT": token}).status_code == 200
    again = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert again.status_code == 400
    assert "already received" in again.get_data(as_text=True)
    assert stored(sandbox) == (1, 1)


def test_second_response_to_the_same_request_is_refused(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    data = deep_link_data(client)
    assert (
        client.post(
            "/sandbox/deep-link-return", data={"JWT": tool.sign(response_claims(data))}
        ).status_code
        == 200
    )
    other = tool.sign(response_claims(data, nonce="another-nonce"))
    again = client.post("/sandbox/deep-link-return", data={"JWT": other})
    assert again.status_code == 400
    assert "already answered" in again.get_data(as_text=True)
    assert stored(sandbox) == (1, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "http://tool.test/other"}, "audience"),
        ({"iss": "someone-else"}, "issuer"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"nonce": None}, "nonce"),
        ({LTI + "message_type": "LtiResourceLinkRequest"}, "message_type"),
        ({LTI + "version": "1.1"}, "version"),
        ({LTI + "deployment_id": "other-deployment"}, "deployment_id"),
        ({DL + "data": None}, "data"),
        ({DL + "data": "tampered.data"}, "data"),
        ({DL + "content_items": "nope"}, "content_items"),
        ({DL + "content_items": [content_item(type="file")]}, "only ltiResourceLink"),
        ({DL + "content_items": [content_item(url="https://evil.example/x")]}, "tool's host"),
        ({DL + "content_items": [content_item(custom={"a": 1})]}, "custom"),
        ({DL + "content_items": [content_item(lineItem={"scoreMaximum": 0})]}, "scoreMaximum"),
        ({DL + "content_items": [content_item(), "junk"]}, "content item 1"),
    ],
)
def test_bad_responses_are_400_and_nothing_is_stored(
    sandbox: Flask, client: FlaskClient, tool: FakeTool, changes: dict[str, Any], message: str
) -> None:
    claims = response_claims(deep_link_data(client))
    claims.update(changes)
    token = tool.sign({k: v for k, v in claims.items() if v is not None})
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert message in html
    assert "Nothing was added" in html
    assert stored(sandbox) == (0, 0)


def test_bad_signature_is_refused(
    sandbox: Flask, client: FlaskClient, tool: FakeTool, stranger_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = tool.sign(response_claims(deep_link_data(client)), key=stranger_rsa_key)
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 400
    assert "signature" in response.get_data(as_text=True)
    assert stored(sandbox) == (0, 0)


@pytest.mark.parametrize("form", [{}, {"JWT": ""}, {"JWT": "a.b.c"}, {"JWT": "x" * 70000}])
def test_missing_or_garbled_jwt(sandbox: Flask, client: FlaskClient, form: dict[str, str]) -> None:
    response = client.post("/sandbox/deep-link-return", data=form)
    assert response.status_code == 400
    assert stored(sandbox) == (0, 0)


def test_unsigned_jwt_is_refused(sandbox: Flask, client: FlaskClient, tool: FakeTool) -> None:
    import jwt

    token = jwt.encode(response_claims(deep_link_data(client)), None, algorithm="none")
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 400
    assert "RS256" in response.get_data(as_text=True)
    assert stored(sandbox) == (0, 0)


def test_nul_characters_in_content_items_are_refused(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    items = [content_item(custom={"framework": "1\u0000"})]
    token = tool.sign(response_claims(deep_link_data(client), items))
    response = client.post("/sandbox/deep-link-return", data={"JWT": token})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert stored(sandbox) == (0, 0)
