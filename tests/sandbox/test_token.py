"""The token endpoint: client credentials with a JWT client assertion signed by the tool."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.database import db
from lms_plugin.sandbox.models import SandboxAccessToken
from tests.sandbox.helpers import TOKEN_URL, FakeTool, public_jwk

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_request(assertion: str, scope: str = NRPS, **overrides: Any) -> dict[str, Any]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def test_valid_assertion_gets_a_bearer_token(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    response = client.post(
        "/sandbox/token",
        data=token_request(tool.assertion(), f"{NRPS} {SCORE} https://example.com/other {SCORE}"),
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == f"{NRPS} {SCORE}"
    assert len(body["access_token"]) >= 40
    with sandbox.app_context():
        stored = db.session.scalars(select(SandboxAccessToken)).all()
        assert len(stored) == 1
        assert stored[0].token_hash != body["access_token"]
        assert body["access_token"] not in stored[0].token_hash
        assert stored[0].scopes == [NRPS, SCORE]


def test_replayed_assertion_is_refused(client: FlaskClient, tool: FakeTool) -> None:
    assertion = tool.assertion()
    assert client.post("/sandbox/token", data=token_request(assertion)).status_code == 200
    again = client.post("/sandbox/token", data=token_request(assertion))
    assert again.status_code == 401
    assert again.json["error"] == "invalid_client"  # type: ignore[index]
    assert "already used" in again.json["error_description"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "http://tool.test/sandbox"}, "audience"),
        ({"iss": "someone-else"}, "issuer"),
        ({"sub": "someone-else"}, "sub"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": int(time.time()) + 7200}, "too long"),
        ({"jti": None}, "jti"),
        ({"exp": None}, "exp"),
        ({"iat": None}, "iat"),
    ],
)
def test_bad_assertions_are_refused(
    client: FlaskClient, tool: FakeTool, claims: dict[str, Any], reason: str
) -> None:
    response = client.post("/sandbox/token", data=token_request(tool.assertion(**claims)))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"  # type: ignore[index]
    assert reason in response.json["error_description"]  # type: ignore[index]


def test_assertion_signed_by_another_key_is_refused(
    client: FlaskClient, tool: FakeTool, stranger_rsa_key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    forged = tool.sign(
        {
            "iss": "sandbox-tool",
            "sub": "sandbox-tool",
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": "forged-1",
        },
        key=stranger_rsa_key,
    )
    response = client.post("/sandbox/token", data=token_request(forged))
    assert response.status_code == 401
    assert "signature" in response.json["error_description"]  # type: ignore[index]


def test_unknown_kid_refetches_the_tool_jwks_once(
    client: FlaskClient, tool: FakeTool, stranger_rsa_key: rsa.RSAPrivateKey, monkeypatch: Any
) -> None:
    from lms_plugin.sandbox import toolkeys

    monkeypatch.setattr(toolkeys, "REFETCH_AFTER_SECONDS", 0.0)
    assert client.post("/sandbox/token", data=token_request(tool.assertion())).status_code == 200
    assert client.post("/sandbox/token", data=token_request(tool.assertion())).status_code == 200
    assert tool.fetches == 1  # cached

    # The tool rotates its key: the new kid is unknown to the cache, so the JWKS is fetched again.
    tool.jwks = {"keys": [public_jwk(stranger_rsa_key, "tool-key-2")]}
    now = int(time.time())
    rotated = tool.sign(
        {
            "iss": "sandbox-tool",
            "sub": "sandbox-tool",
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": "after-rotation",
        },
        key=stranger_rsa_key,
        kid="tool-key-2",
    )
    assert client.post("/sandbox/token", data=token_request(rotated)).status_code == 200
    assert tool.fetches == 2

    unknown = tool.sign({"iss": "x"}, kid="nobody")
    response = client.post("/sandbox/token", data=token_request(unknown))
    assert response.status_code == 401
    assert "no RS256 signing key" in response.json["error_description"]  # type: ignore[index]


def test_unreachable_tool_jwks_is_a_clear_refusal(
    client: FlaskClient, tool: FakeTool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms_plugin.sandbox import toolkeys

    def fail(url: str) -> dict[str, Any]:
        raise toolkeys.ToolKeyError(f"could not fetch the tool's JWKS at {url}: ConnectionError")

    monkeypatch.setattr(toolkeys, "download_jwks", fail)
    response = client.post("/sandbox/token", data=token_request(tool.assertion()))
    assert response.status_code == 401
    assert "could not fetch" in response.json["error_description"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "unsupported_grant_type"),
        ({"client_assertion_type": "urn:other"}, 400, "invalid_request"),
        ({"client_assertion": None}, 400, "invalid_request"),
        ({"client_assertion": "not-a-jwt"}, 401, "invalid_client"),
        ({"scope": None}, 400, "invalid_scope"),
        ({"scope": "https://example.com/not-offered"}, 400, "invalid_scope"),
    ],
)
def test_malformed_token_requests(
    sandbox: Flask,
    client: FlaskClient,
    tool: FakeTool,
    overrides: dict[str, Any],
    status: int,
    error: str,
) -> None:
    form = token_request(tool.assertion())
    form.update(overrides)
    response = client.post("/sandbox/token", data={k: v for k, v in form.items() if v is not None})
    assert response.status_code == status
    assert response.json["error"] == error  # type: ignore[index]
    with sandbox.app_context():
        assert db.session.scalars(select(SandboxAccessToken)).all() == []


def test_token_endpoint_needs_no_csrf_token_and_refuses_get(client: FlaskClient) -> None:
    assert client.get("/sandbox/token").status_code == 405
