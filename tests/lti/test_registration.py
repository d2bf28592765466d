"""Registering platforms (CLI and LTI Dynamic Registration), keys and the tool's public config."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from lms_plugin.cli import cli
from lms_plugin.database import db
from lms_plugin.lti import claims
from lms_plugin.lti.models import Deployment, Platform

PLATFORM_ARGS = [
    "platform",
    "add",
    "--issuer",
    "https://canvas.example.edu",
    "--client-id",
    "10000000000001",
    "--deployment-id",
    "1:abc",
    "--auth-login-url",
    "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "--auth-token-url",
    "https://sso.canvaslms.com/login/oauth2/token",
    "--jwks-url",
    "https://sso.canvaslms.com/api/lti/security/jwks",
    "--name",
    "Canvas",
]


def test_platform_add_is_idempotent_and_adds_deployments(
    app: Flask, runner: FlaskCliRunner
) -> None:
    assert runner.invoke(cli, PLATFORM_ARGS).exit_code == 0
    assert runner.invoke(cli, PLATFORM_ARGS).exit_code == 0
    second = [*PLATFORM_ARGS]
    second[second.index("1:abc")] = "2:def"
    result = runner.invoke(cli, second)
    assert result.exit_code == 0, result.output
    assert "deployments: 1:abc, 2:def" in result.output

    listed = json.loads(runner.invoke(cli, ["platform", "list", "--json"]).output)
    assert [(p["issuer"], p["client_id"], p["deployments"]) for p in listed] == [
        ("https://canvas.example.edu", "10000000000001", ["1:abc", "2:def"])
    ]


def test_platform_add_refuses_bad_urls_and_missing_options(
    app: Flask, runner: FlaskCliRunner
) -> None:
    bad = [*PLATFORM_ARGS]
    bad[bad.index("--jwks-url") + 1] = "not a url"
    result = runner.invoke(cli, bad)
    assert result.exit_code == 2
    assert "--jwks-url" in result.output
    assert runner.invoke(cli, ["platform", "add", "--issuer", "https://x"]).exit_code == 2
    with app.app_context():
        assert db.session.scalar(select(Platform)) is None


def test_key_rotation_keeps_the_old_key_published_until_retired(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    first = client.get("/lti/jwks").json["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and first[0]["kid"]
    old_kid = first[0]["kid"]

    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 0
    after = [key["kid"] for key in client.get("/lti/jwks").json["keys"]]
    assert len(after) == 2 and old_kid in after

    refused = runner.invoke(cli, ["keys", "retire", after[0]])
    assert refused.exit_code == 1 and "rotate first" in refused.output
    assert runner.invoke(cli, ["keys", "retire", old_kid]).exit_code == 0
    assert [k["kid"] for k in client.get("/lti/jwks").json["keys"]] == [after[0]]
    assert "private" not in client.get("/lti/jwks").get_data(as_text=True)
    assert all("d" not in key for key in client.get("/lti/jwks").json["keys"])


def test_canvas_configuration_names_our_endpoints(client: FlaskClient) -> None:
    config = client.get("/lti/config.json").json
    assert config["oidc_initiation_url"] == "http://tool.test/lti/login"
    assert config["target_link_uri"] == "http://tool.test/lti/launch"
    assert config["public_jwk_url"] == "http://tool.test/lti/jwks"
    assert config["custom_fields"] == {"context_history": "$Context.id.history"}
    assert claims.SCOPE_SCORE in config["scopes"] and claims.SCOPE_NRPS in config["scopes"]
    placements = config["extensions"][0]["settings"]["placements"]
    assert {p["message_type"] for p in placements} == {"LtiDeepLinkingRequest"}


class FakeRegistrationPlatform:
    """An LMS's side of dynamic registration, over loopback HTTP."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.config_override: dict[str, Any] = {}
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, document: Any, status: int = 200) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                base = platform.url
                self._answer(
                    {
                        "issuer": base,
                        "authorization_endpoint": f"{base}/auth",
                        "token_endpoint": f"{base}/token",
                        "jwks_uri": f"{base}/jwks",
                        "registration_endpoint": f"{base}/register",
                        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                            "product_family_code": "moodle"
                        },
                        **platform.config_override,
                    }
                )

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                platform.received.append(
                    (json.loads(self.rfile.read(length)), self.headers.get("Authorization"))
                )
                self._answer(
                    {
                        "client_id": "moodle-client-7",
                        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                            "deployment_id": "42"
                        },
                    }
                )

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


@pytest.fixture
def lms() -> Iterator[FakeRegistrationPlatform]:
    server = FakeRegistrationPlatform()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def registration_app(app: Flask) -> FlaskClient:
    app.config["ALLOW_HTTP_PLATFORMS"] = True
    return app.test_client()


def test_dynamic_registration_registers_and_closes_the_window(
    app: Flask, lms: FakeRegistrationPlatform
) -> None:
    client = registration_app(app)
    response = client.get(
        "/lti/register",
        query_string={
            "openid_configuration": f"{lms.url}/.well-known/openid-configuration",
            "registration_token": "token-123",
        },
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "org.imsglobal.lti.close" in response.get_data(as_text=True)
    [(sent, authorization)] = lms.received
    assert authorization == "Bearer token-123"
    assert sent["initiate_login_uri"] == "http://tool.test/lti/login"
    assert sent["redirect_uris"] == ["http://tool.test/lti/launch"]
    assert sent["jwks_uri"] == "http://tool.test/lti/jwks"
    tool_config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_config["custom_parameters"] == {"context_history": "$Context.id.history"}
    assert {m["type"] for m in tool_config["messages"]} == {
        "LtiDeepLinkingRequest",
        "LtiResourceLinkRequest",
    }
    with app.app_context():
        platform = db.session.scalar(select(Platform))
        assert platform is not None
        assert (platform.issuer, platform.client_id, platform.jwks_url) == (
            lms.url,
            "moodle-client-7",
            f"{lms.url}/jwks",
        )
        assert [d.deployment_id for d in db.session.scalars(select(Deployment))] == ["42"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"issuer": "http://elsewhere.example.com"}, "not on the host"),
        ({"registration_endpoint": "http://elsewhere.example.com/register"}, "not on the issuer"),
        ({"jwks_uri": None}, "has no jwks_uri"),
    ],
)
def test_dynamic_registration_refuses_inconsistent_platforms(
    app: Flask, lms: FakeRegistrationPlatform, override: dict[str, Any], message: str
) -> None:
    lms.config_override = override
    response = registration_app(app).get(
        "/lti/register", query_string={"openid_configuration": f"{lms.url}/.well-known/x"}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert lms.received == []
    with app.app_context():
        assert db.session.scalar(select(Platform)) is None


def test_dynamic_registration_requires_https_outside_the_sandbox(
    app: Flask, client: FlaskClient, lms: FakeRegistrationPlatform
) -> None:
    response = client.get("/lti/register", query_string={"openid_configuration": f"{lms.url}/x"})
    assert response.status_code == 400
    assert "must be an absolute https URL" in response.get_data(as_text=True)


def test_register_without_parameters_explains_itself(client: FlaskClient) -> None:
    page = client.get("/lti/register").get_data(as_text=True)
    assert "http://tool.test/lti/register" in page
