"""Placement: deep linking returns a signed resource link; custom parameters place a link;
staff choose a framework for a link without one; learners cannot."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from lms_plugin.lti.models import ResourceLink
from tests.builders import SEED_FILES
from tests.lti.platform import INSTRUCTOR, LtiPlatform

BASE = "http://tool.test"
DEEP_LINKING = {
    claims.MESSAGE_TYPE: claims.DEEP_LINKING_REQUEST,
    claims.RESOURCE_LINK: None,
    claims.ROLES: [INSTRUCTOR],
    "sub": "teacher-1",
    claims.DEEP_LINKING_SETTINGS: {
        "deep_link_return_url": "https://lms.example.edu/deep-link-return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "data": "opaque-123",
    },
}


@pytest.fixture
def version_ids(app: Flask) -> list[int]:
    with app.app_context():
        results = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
        return [result.version.id for result in results]


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def open_launch(client: FlaskClient, platform: LtiPlatform, **claims_: Any) -> tuple[str, str]:
    response = platform.launch(client, BASE, **claims_)
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    return location, client.get(location).get_data(as_text=True)


def test_deep_linking_returns_a_signed_resource_link_with_placement_and_line_item(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    location, page = open_launch(client, platform, **DEEP_LINKING)
    assert "Choose a competency framework" in page

    response = client.post(
        f"{location}/deep-link",
        data={
            "csrf_token": csrf_token(page),
            "framework": str(version_ids[0]),
            "levels": ["emerging", "developing"],
        },
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'action="https://lms.example.edu/deep-link-return"' in html
    token = re.search(r'name="JWT" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    keys = client.get("/lti/jwks").json
    header = jwt.get_unverified_header(token)
    jwk = next(k for k in keys["keys"] if k["kid"] == header["kid"])
    message = jwt.decode(
        token,
        jwt.algorithms.RSAAlgorithm.from_jwk(jwk),
        algorithms=["RS256"],
        audience=platform.issuer,
    )
    assert message["iss"] == platform.client_id
    assert message[claims.MESSAGE_TYPE] == "LtiDeepLinkingResponse"
    assert message[claims.VERSION] == "1.3.0"
    assert message[claims.DEPLOYMENT_ID] == platform.deployment_id
    assert message[claims.DEEP_LINKING_DATA] == "opaque-123"
    [item] = message[claims.CONTENT_ITEMS]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == f"{BASE}/lti/launch"
    assert item["custom"] == {"framework": str(version_ids[0]), "levels": "emerging,developing"}
    assert item["lineItem"]["scoreMaximum"] == 2


def test_deep_linking_needs_csrf_and_staff(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    location, page = open_launch(client, platform, **DEEP_LINKING)
    no_token = client.post(f"{location}/deep-link", data={"framework": str(version_ids[0])})
    assert no_token.status_code == 403

    learner = app.test_client()
    location, page = open_launch(
        learner,
        platform,
        **{
            **DEEP_LINKING,
            claims.ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            "sub": "l1",
        },
    )
    assert learner.get(location).status_code == 403


def test_custom_parameters_place_the_link_and_survive_course_copy(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    custom = {claims.CUSTOM: {"framework": str(version_ids[1]), "levels": "proficient"}}
    location, page = open_launch(client, platform, **custom)
    assert "My progress" in page
    assert 'id="level-proficient"' in page and 'id="level-emerging"' not in page

    copied = {
        **custom,
        claims.RESOURCE_LINK: {"id": "copied-link-9"},
        claims.CONTEXT: {"id": "course-copy"},
    }
    location, page = open_launch(app.test_client(), platform, **copied)
    assert "Proficient" in page
    with app.app_context():
        links = db.session.query(ResourceLink).order_by(ResourceLink.id).all()
        assert [(link.framework_version_id, link.level_keys) for link in links] == [
            (version_ids[1], ["proficient"]),
            (version_ids[1], ["proficient"]),
        ]


def test_bad_custom_parameters_are_explained_to_staff(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    location, page = open_launch(
        client,
        platform,
        **{
            claims.CUSTOM: {"framework": str(version_ids[0]), "levels": "wizard"},
            claims.ROLES: [INSTRUCTOR],
            "sub": "t",
        },
    )
    assert "levels wizard are not in framework" in page
    assert "Choose a competency framework" in page


def test_staff_choose_a_framework_for_a_link_without_one(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    location, page = open_launch(
        client, platform, **{claims.ROLES: [INSTRUCTOR], "sub": "teacher-1"}
    )

    bad = client.post(
        f"{location}/placement",
        data={"csrf_token": csrf_token(page), "framework": "999999"},
    )
    assert bad.status_code == 400

    response = client.post(
        f"{location}/placement",
        data={"csrf_token": csrf_token(page), "framework": str(version_ids[0])},
    )
    assert response.status_code == 303
    course_page = client.get(location).get_data(as_text=True)
    # The evaluators' page of the chosen framework (no learner has launched yet: no rows).
    assert "Legal" in course_page and 'role="search" aria-label="Learners"' in course_page
    with app.app_context():
        link = db.session.query(ResourceLink).one()
        assert (link.framework_version_id, link.level_keys) == (version_ids[0], None)


def test_learners_cannot_choose_the_framework(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_ids: list[int]
) -> None:
    location, page = open_launch(client, platform)
    response = client.post(
        f"{location}/placement",
        data={"csrf_token": csrf_token(page), "framework": str(version_ids[0])},
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.query(ResourceLink).one().framework_version_id is None
