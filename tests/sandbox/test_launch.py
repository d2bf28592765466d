"""Launches: login initiation, the OIDC authorization endpoint's checks, and id_token claims."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sandbox.helpers import (
    BASE,
    COURSE,
    INSTRUCTOR,
    LEARNER,
    TA,
    add_link,
    auth_request,
    launch,
    login_initiation,
)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def test_login_initiation_carries_every_parameter(sandbox: Flask, client: FlaskClient) -> None:
    link, _ = add_link(sandbox)
    login = login_initiation(client, LEARNER, link)
    assert login["iss"] == f"{BASE}/sandbox"
    assert login["login_hint"] == LEARNER
    assert login["target_link_uri"] == f"{BASE}/lti/launch"
    assert login["client_id"] == "sandbox-tool"
    assert login["lti_deployment_id"] == "sandbox-deployment-1"
    assert login["lti_message_hint"]


def test_launch_in_a_frame_shows_the_course_page(sandbox: Flask, client: FlaskClient) -> None:
    link, _ = add_link(sandbox, title="Legal <b>Secretaries</b>")
    page = client.get("/sandbox/launch", query_string={"user": LEARNER, "link": link})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Legal &lt;b&gt;Secretaries&lt;/b&gt;" in html
    src = re.search(r'<iframe src="([^"]+)"', html)
    assert src is not None
    framed = client.get(src.group(1).replace("&amp;", "&"))
    assert framed.status_code == 302
    assert framed.headers["Location"].startswith(f"{BASE}/lti/login?")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"user": "nobody", "link": "link-1"}, "not a member"),
        ({"user": LEARNER, "link": "no-such-link"}, "not in this course"),
        ({"user": LEARNER}, "Choose a resource link"),
        ({"user": LEARNER, "deep_linking": "1"}, "Only instructors"),
        ({"user": LEARNER, "link": "link-1", "presentation": "popup"}, "presentation"),
    ],
)
def test_bad_launch_requests_are_refused(
    sandbox: Flask, client: FlaskClient, query: dict[str, str], message: str
) -> None:
    add_link(sandbox)
    response = client.get("/sandbox/launch", query_string=query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_resource_link_launch_id_token_claims(sandbox: Flask, client: FlaskClient) -> None:
    link, item_id = add_link(sandbox, custom={"framework": "7", "levels": "basic,expert"})
    claims = launch(client, LEARNER, link)

    assert claims["iss"] == f"{BASE}/sandbox"
    assert claims["aud"] == "sandbox-tool"
    assert claims["azp"] == "sandbox-tool"
    assert claims["sub"] == LEARNER
    assert claims["nonce"] == "nonce-123"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["name"] == "Chloé Dubois"
    assert claims["given_name"] == "Chloé"
    assert claims["family_name"] == "Dubois"
    assert claims["email"] == "chloe@sandbox.test"
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == "sandbox-deployment-1"
    assert claims[LTI + "target_link_uri"] == f"{BASE}/lti/launch"
    assert claims[LTI + "roles"] == [MEMBERSHIP + "Learner"]
    assert claims[LTI + "context"] == {
        "id": COURSE,
        "label": "SBX-101",
        "title": "Sandbox Course 101",
        "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
    }
    assert claims[LTI + "resource_link"] == {"id": link, "title": "Competencies"}
    assert claims[LTI + "custom"] == {"framework": "7", "levels": "basic,expert"}
    assert claims[LTI + "tool_platform"]["name"] == "Sandbox LMS"
    assert claims[LTI + "launch_presentation"] == {
        "document_target": "window",
        "return_url": f"{BASE}/sandbox",
        "locale": "en",
    }
    lineitems = f"{BASE}/sandbox/courses/{COURSE}/lineitems"
    assert claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] == {
        "scope": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        ],
        "lineitems": lineitems,
        "lineitem": f"{lineitems}/{item_id}",
    }
    assert claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] == {
        "context_memberships_url": f"{BASE}/sandbox/courses/{COURSE}/memberships",
        "service_versions": ["2.0"],
    }
    assert "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings" not in claims


def test_link_without_line_item_has_no_lineitem_claim(sandbox: Flask, client: FlaskClient) -> None:
    link, _ = add_link(sandbox, line_item=False)
    claims = launch(client, INSTRUCTOR, link, method="GET")
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert "lineitem" not in ags
    assert claims[LTI + "roles"] == [MEMBERSHIP + "Instructor"]
    assert claims["name"] == "Ada Lovelace"


def test_teaching_assistant_gets_the_sub_role_and_its_principal_role(
    sandbox: Flask, client: FlaskClient
) -> None:
    link, _ = add_link(sandbox)
    claims = launch(client, TA, link)
    assert claims[LTI + "roles"] == [
        MEMBERSHIP + "Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    ]


@pytest.mark.parametrize("user", [INSTRUCTOR, TA])
def test_deep_linking_launch_claims(client: FlaskClient, user: str) -> None:
    claims = launch(client, user, deep_linking=True)
    assert claims[LTI + "message_type"] == "LtiDeepLinkingRequest"
    assert claims[LTI + "target_link_uri"] == f"{BASE}/lti/launch"
    assert LTI + "resource_link" not in claims
    settings = claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    assert settings["deep_link_return_url"] == f"{BASE}/sandbox/deep-link-return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["accept_presentation_document_targets"] == ["iframe", "window"]
    assert settings["accept_multiple"] is True
    assert settings["auto_create"] is True
    assert isinstance(settings["data"], str) and settings["data"]
    assert "lineitem" not in claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"scope": "profile"}, "scope"),
        ({"scope": None}, "scope"),
        ({"response_type": "code"}, "response_type"),
        ({"response_mode": "query"}, "response_mode"),
        ({"prompt": "login"}, "prompt"),
        ({"client_id": "someone-else"}, "client_id"),
        ({"redirect_uri": "https://evil.example/launch"}, "redirect_uri"),
        ({"redirect_uri": None}, "redirect_uri"),
        ({"nonce": None}, "nonce"),
        ({"state": None}, "state"),
        ({"state": "x" * 5000}, "too long"),
        ({"login_hint": None}, "login_hint"),
        ({"login_hint": "sandbox-user-bea"}, "login_hint does not match"),
        ({"lti_message_hint": None}, "lti_message_hint"),
        ({"lti_message_hint": "forged.hint.value"}, "not one the sandbox issued"),
    ],
)
def test_authorization_endpoint_refuses_bad_requests(
    sandbox: Flask, client: FlaskClient, override: dict[str, str | None], message: str
) -> None:
    link, _ = add_link(sandbox)
    login = login_initiation(client, LEARNER, link)
    response = client.post("/sandbox/auth", data=auth_request(login, **override))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert 'name="id_token"' not in html


def test_expired_message_hint_is_refused(
    sandbox: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms_plugin.sandbox import launches

    link, _ = add_link(sandbox)
    login = login_initiation(client, LEARNER, link)
    monkeypatch.setattr(launches, "MESSAGE_HINT_SECONDS", -1)
    response = client.get("/sandbox/auth", query_string=auth_request(login))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_launch_of_a_deleted_link_is_refused(sandbox: Flask, client: FlaskClient) -> None:
    from sqlalchemy import delete

    from lms_plugin.database import db
    from lms_plugin.sandbox.models import SandboxResourceLink

    link, _ = add_link(sandbox)
    login = login_initiation(client, LEARNER, link)
    with sandbox.app_context():
        db.session.execute(delete(SandboxResourceLink))
        db.session.commit()
    response = client.post("/sandbox/auth", data=auth_request(login))
    assert response.status_code == 400
    assert "no longer exists" in response.get_data(as_text=True)


def test_auto_post_page_has_a_visible_button(sandbox: Flask, client: FlaskClient) -> None:
    link, _ = add_link(sandbox)
    login = login_initiation(client, LEARNER, link)
    response = client.post("/sandbox/auth", data=auth_request(login))
    html = response.get_data(as_text=True)
    assert f'action="{BASE}/lti/launch"' in html
    assert '<button type="submit">' in html
    assert response.headers["Cache-Control"] == "no-store"
