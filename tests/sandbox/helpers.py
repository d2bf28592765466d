"""Helpers for driving the sandbox like a browser and a tool would."""

from __future__ import annotations

import re
import time
import uuid
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.database import db
from lms_plugin.sandbox.constants import CLIENT_ID
from lms_plugin.sandbox.models import SandboxCourse, SandboxLineItem, SandboxResourceLink

BASE = "http://tool.test"
TOKEN_URL = f"{BASE}/sandbox/token"
ISSUER = f"{BASE}/sandbox"
COURSE = "sandbox-course-101"
INSTRUCTOR = "sandbox-user-ada"
TA = "sandbox-user-grace"
LEARNER = "sandbox-user-chloe"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class FakeTool:
    """The tool's side of the machine conversations: its key, its JWKS, signed JWTs."""

    def __init__(self, key: rsa.RSAPrivateKey, kid: str = "tool-key-1") -> None:
        self.key = key
        self.kid = kid
        self.jwks: dict[str, Any] = {"keys": [public_jwk(key, kid)]}
        self.fetches = 0

    def download(self, url: str) -> dict[str, Any]:
        assert url == f"{BASE}/lti/jwks"
        self.fetches += 1
        return self.jwks

    def sign(self, claims: dict[str, Any], *, key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    def assertion(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": CLIENT_ID,
            "sub": CLIENT_ID,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return self.sign({k: v for k, v in claims.items() if v is not None})


def access_token(client: FlaskClient, tool: FakeTool, *scopes: str) -> str:
    response = client.post(
        "/sandbox/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": tool.assertion(),
            "scope": " ".join(scopes),
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.json["access_token"])  # type: ignore[index]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_link(
    app: Flask,
    title: str = "Competencies",
    custom: dict[str, str] | None = None,
    *,
    line_item: bool = True,
    link_id: str = "link-1",
) -> tuple[str, int | None]:
    """A resource link in the sandbox course (and its line item); returns their ids."""
    with app.app_context():
        course = db.session.scalar(select(SandboxCourse).where(SandboxCourse.context_id == COURSE))
        assert course is not None
        link = SandboxResourceLink(
            course_id=course.id,
            resource_link_id=link_id,
            title=title,
            target_link_uri=f"{BASE}/lti/launch",
            custom=custom if custom is not None else {"framework": "1", "levels": "a,b"},
        )
        db.session.add(link)
        item_id = None
        if line_item:
            item = SandboxLineItem(
                course_id=course.id, resource_link=link, label=title, score_maximum=4.0
            )
            db.session.add(item)
            db.session.flush()
            item_id = item.id
        db.session.commit()
        return link_id, item_id


def login_initiation(
    client: FlaskClient, user: str, link: str | None = None, *, deep_linking: bool = False
) -> dict[str, str]:
    """Start a launch from the sandbox page; returns the login initiation query."""
    query: dict[str, str] = {"user": user, "presentation": "window"}
    if link:
        query["link"] = link
    if deep_linking:
        query["deep_linking"] = "1"
    response = client.get("/sandbox/launch", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{BASE}/lti/login"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def auth_request(login: dict[str, str], **overrides: str | None) -> dict[str, str]:
    """The OIDC authentication request a tool answers a login initiation with."""
    params: dict[str, str | None] = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": f"{BASE}/lti/launch",
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "nonce": "nonce-123",
        "state": "state-456",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def form_fields(html: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the (first) form of a page."""
    action = re.search(r'<form[^>]*action="([^"]*)"', html)
    assert action is not None, html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return unescape(action.group(1)), {k: unescape(v) for k, v in fields.items()}


def decode_id_token(client: FlaskClient, token: str) -> dict[str, Any]:
    """Verify an id_token with the sandbox's published JWKS, as the tool would."""
    header = jwt.get_unverified_header(token)
    jwks = client.get("/sandbox/jwks").json
    assert jwks is not None
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="sandbox-tool",
        issuer=f"{BASE}/sandbox",
    )
    return claims


def launch(
    client: FlaskClient,
    user: str,
    link: str | None = None,
    *,
    deep_linking: bool = False,
    method: str = "POST",
) -> dict[str, Any]:
    """The whole OIDC dance; returns the verified id_token claims."""
    login = login_initiation(client, user, link, deep_linking=deep_linking)
    params = auth_request(login)
    if method == "POST":
        response = client.post("/sandbox/auth", data=params)
    else:
        response = client.get("/sandbox/auth", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    action, fields = form_fields(response.get_data(as_text=True))
    assert action == f"{BASE}/lti/launch"
    assert fields["state"] == "state-456"
    return decode_id_token(client, fields["id_token"])
