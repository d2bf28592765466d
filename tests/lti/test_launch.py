"""Launches: the happy path, and every hostile launch refused with 4xx and nothing stored."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Enrollment, LaunchState, Person, ResourceLink
from tests.lti.platform import INSTRUCTOR, LtiPlatform

BASE = "http://tool.test"


def stored(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Course, Person, Enrollment, ResourceLink)
        }
        counts["launches"] = db.session.scalar(
            select(func.count()).select_from(LaunchState).where(LaunchState.key.like("launch:%"))
        )
        return counts  # type: ignore[return-value]


NOTHING = {"courses": 0, "people": 0, "enrollments": 0, "resource_links": 0, "launches": 0}


def test_a_learner_launch_records_course_person_link_and_opens_their_page(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    response = platform.launch(client, BASE)

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/launch/")
    assert stored(app) == {
        "courses": 1,
        "people": 1,
        "enrollments": 1,
        "resource_links": 1,
        "launches": 1,
    }
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert person is not None
        assert (person.issuer, person.sub, person.name) == (
            platform.issuer,
            "learner-1",
            "Chloé Dubois",
        )
        enrollment = db.session.scalar(select(Enrollment))
        assert enrollment is not None and not enrollment.is_staff
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Not set up yet" in page.get_data(as_text=True)


def test_a_launch_page_needs_the_browser_that_launched(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    location = platform.launch(client, BASE).headers["Location"]
    other_browser = app.test_client()
    assert other_browser.get(location).status_code == 403


def test_staff_launch_without_placement_chooses_a_framework(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    response = platform.launch(client, BASE, **{claims.ROLES: [INSTRUCTOR], "sub": "teacher-1"})
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Choose a competency framework" in page.get_data(as_text=True)


def test_the_same_id_token_cannot_launch_twice(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    auth = platform.login(client, BASE)
    token = platform.sign(platform.claims(auth["nonce"], BASE))
    first = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert first.status_code == 303
    before = stored(app)

    replay = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert replay.status_code == 400  # the used state cookie is gone

    # Even with the state cookie put back (a stolen cookie), the nonce is spent.
    client.set_cookie(f"lti1p3-{auth['state']}", auth["state"])
    replay = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert replay.status_code == 400
    assert "nonce" in replay.get_data(as_text=True)
    assert stored(app) == before


def hs256_with_public_key(platform: LtiPlatform, body: dict[str, Any]) -> str:
    public_pem = platform.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": platform.kid}
    signing_input = (
        jwt.utils.base64url_encode(jwt.api_jws.json.dumps(header).encode()).decode()
        + "."
        + jwt.utils.base64url_encode(jwt.api_jws.json.dumps(body).encode()).decode()
    )
    import hashlib
    import hmac

    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + jwt.utils.base64url_encode(signature).decode()


def unsigned(body: dict[str, Any], kid: str) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return (
        jwt.utils.base64url_encode(jwt.api_jws.json.dumps(header).encode()).decode()
        + "."
        + jwt.utils.base64url_encode(jwt.api_jws.json.dumps(body).encode()).decode()
        + "."
    )


def tampered(token: str) -> str:
    head, body, signature = token.split(".")
    payload = jwt.utils.base64url_decode(body).replace(b"learner-1", b"learner-2")
    return ".".join([head, jwt.utils.base64url_encode(payload).decode(), signature])


HOSTILE = [
    "bad signature",
    "alg none",
    "HS256 with the public key",
    "unknown kid",
    "signed by another key",
    "expired",
    "issued in the future",
    "wrong aud",
    "several aud without azp",
    "unknown issuer",
    "unknown deployment",
    "missing state",
    "mismatched state",
    "wrong message type",
    "missing sub",
    "missing nonce",
    "nonce never issued",
    "missing exp",
    "wrong version",
    "missing roles",
    "missing resource link",
    "missing context",
    "foreign target link",
    "not a jwt",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_launches_are_refused_and_store_nothing(
    app: Flask,
    client: FlaskClient,
    platform: LtiPlatform,
    other_key: rsa.RSAPrivateKey,
    case: str,
) -> None:
    auth = platform.login(client, BASE)
    body = platform.claims(auth["nonce"], BASE)
    now = int(time.time())
    state = auth["state"]
    token: str
    if case == "bad signature":
        token = tampered(platform.sign(body))
    elif case == "alg none":
        token = unsigned(body, platform.kid)
    elif case == "HS256 with the public key":
        token = hs256_with_public_key(platform, body)
    elif case == "unknown kid":
        token = platform.sign(body, kid="no-such-key")
    elif case == "signed by another key":
        token = jwt.encode(body, other_key, algorithm="RS256", headers={"kid": platform.kid})
    else:
        changes: dict[str, Any] = {
            "expired": {"exp": now - 3600, "iat": now - 7200},
            "issued in the future": {"iat": now + 3600, "exp": now + 7200},
            "wrong aud": {"aud": "someone-else"},
            "several aud without azp": {"aud": [platform.client_id, "someone-else"]},
            "unknown issuer": {"iss": "https://evil.example.com"},
            "unknown deployment": {claims.DEPLOYMENT_ID: "deployment-unknown"},
            "wrong message type": {claims.MESSAGE_TYPE: "LtiSubmissionReviewRequest"},
            "missing sub": {"sub": None},
            "missing nonce": {"nonce": None},
            # Caught by the statements that record the launch: they write nothing that stays.
            "nonce never issued": {"nonce": "never-issued"},
            "missing exp": {"exp": None},
            "wrong version": {claims.VERSION: "1.1"},
            "missing roles": {claims.ROLES: None},
            "missing resource link": {claims.RESOURCE_LINK: None},
            "missing context": {claims.CONTEXT: None},
            "foreign target link": {claims.TARGET_LINK_URI: "https://evil.example.com/launch"},
        }.get(case, {})
        body = {**body, **changes}
        body = {key: value for key, value in body.items() if value is not None}
        token = platform.sign(body)
        if case == "missing state":
            state = ""
        elif case == "mismatched state":
            state = "state-forged"
        elif case == "not a jwt":
            token = "this.is-not-a.jwt"

    response = client.post("/lti/launch", data={"id_token": token, "state": state})

    assert response.status_code == 400, (case, response.status_code)
    assert "The launch was refused" in response.get_data(as_text=True)
    assert stored(app) == NOTHING


def test_login_for_an_unknown_issuer_is_a_clear_400(
    client: FlaskClient, platform: LtiPlatform
) -> None:
    response = client.get(
        "/lti/login",
        query_string={
            "iss": "https://unknown.example.com",
            "login_hint": "x",
            "target_link_uri": f"{BASE}/lti/launch",
        },
    )
    assert response.status_code == 400
    assert "login request was refused" in response.get_data(as_text=True)


def test_login_without_login_hint_or_with_a_foreign_target_is_refused(
    client: FlaskClient, platform: LtiPlatform
) -> None:
    no_hint = client.get(
        "/lti/login", query_string={"iss": platform.issuer, "client_id": platform.client_id}
    )
    assert no_hint.status_code == 400
    foreign = client.get(
        "/lti/login",
        query_string={
            "iss": platform.issuer,
            "login_hint": "x",
            "target_link_uri": "https://evil.example.com/",
        },
    )
    assert foreign.status_code == 400


def test_login_by_post_works_too(client: FlaskClient, platform: LtiPlatform) -> None:
    response = client.post(
        "/lti/login",
        data={
            "iss": platform.issuer,
            "login_hint": "hint",
            "target_link_uri": f"{BASE}/lti/launch",
            "client_id": platform.client_id,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.auth_login_url + "?")


def test_platform_keys_are_cached_and_refetched_for_a_new_kid(
    app: Flask, client: FlaskClient, platform: LtiPlatform, other_key: rsa.RSAPrivateKey
) -> None:
    from tests.lti.platform import public_jwk

    before = platform.keyset.fetches
    assert platform.launch(client, BASE).status_code == 303
    assert platform.launch(client, BASE).status_code == 303
    assert platform.keyset.fetches == before + 1

    # The platform rotates: a token with the new kid makes the tool fetch the key set again
    # (the cached copy is older than the refresh interval in this test).
    platform.keyset.jwks = {
        "keys": [public_jwk(platform.key, platform.kid), public_jwk(other_key, "k2")]
    }
    with app.app_context():
        for row in db.session.scalars(select(LaunchState).where(LaunchState.key.like("jwks:%"))):
            import json

            value = json.loads(row.value)
            value["fetched"] -= 3600
            row.value = json.dumps(value)
        db.session.commit()
    auth = platform.login(client, BASE)
    token = jwt.encode(
        platform.claims(auth["nonce"], BASE), other_key, algorithm="RS256", headers={"kid": "k2"}
    )
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert response.status_code == 303
    assert platform.keyset.fetches == before + 2


def test_launch_without_id_token_or_with_a_huge_body_is_refused(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    auth = platform.login(client, BASE)
    missing = client.post("/lti/launch", data={"state": auth["state"]})
    assert missing.status_code == 400
    huge = client.post("/lti/launch", data={"id_token": "x" * (2 * 1024 * 1024), "state": "s"})
    assert huge.status_code == 413
    assert stored(app) == NOTHING


def test_a_lone_surrogate_in_a_name_claim_is_stored_as_a_replacement_character(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    response = platform.launch(client, BASE, name="Chlo\ud800 Dubois")
    assert response.status_code == 303
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert person is not None and person.name == "Chlo\ufffd Dubois"
