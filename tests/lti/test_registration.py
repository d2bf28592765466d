"""Registering platforms (CLI, and LTI Dynamic Registration through registration links), keys
and the tool's public config."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.lti import claims
from lms_plugin.lti.dynamic_registration import PLATFORM_CONFIGURATION, TOOL_CONFIGURATION
from lms_plugin.lti.invites import create_invite
from lms_plugin.lti.models import Deployment, Platform, RegistrationInvite
from lms_plugin.lti.registrations import PlatformSettings, add_platform
from lms_plugin.orm import utcnow
from tests.lti.platform import KeySetServer, LtiPlatform

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


def test_keys_retire_takes_a_kid_that_begins_with_a_dash(runner: FlaskCliRunner) -> None:
    """Thumbprints are base64url: one in 64 begins with "-", which is still a kid, not an option."""
    result = runner.invoke(cli, ["keys", "retire", "-nc9-Z2nCJccZJwa9BegTNwN6sKt"])
    assert result.exit_code == 1
    assert "no key with kid '-nc9-Z2nCJccZJwa9BegTNwN6sKt'" in result.output


def test_canvas_configuration_names_our_endpoints(client: FlaskClient) -> None:
    config = client.get("/lti/config.json").json
    assert config["oidc_initiation_url"] == "http://tool.test/lti/login"
    assert config["target_link_uri"] == "http://tool.test/lti/launch"
    assert config["public_jwk_url"] == "http://tool.test/lti/jwks"
    assert config["custom_fields"] == {"context_history": "$Context.id.history"}
    assert claims.SCOPE_SCORE in config["scopes"] and claims.SCOPE_NRPS in config["scopes"]
    placements = config["extensions"][0]["settings"]["placements"]
    assert {p["message_type"] for p in placements} == {"LtiDeepLinkingRequest"}


INVITE_URL = re.compile(r"^http://tool\.test/lti/register\?invite=([A-Za-z0-9_-]{43,})$")
REFUSAL = (
    "This registration link is missing, used or expired. Ask the operator of the tool for a new "
    "registration link (<code>lms-plugin platform invite</code>)."
)


def refused(response: TestResponse) -> bool:
    """A 403 telling the administrator to ask for a new link (whitespace read as a browser does)."""
    return response.status_code == 403 and REFUSAL in " ".join(
        response.get_data(as_text=True).split()
    )


def stored_invites(app: Flask) -> list[RegistrationInvite]:
    with app.app_context():
        return list(db.session.scalars(select(RegistrationInvite).order_by(RegistrationInvite.id)))


def platform_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Platform)) or 0


def test_platform_invite_prints_one_line_with_a_single_use_url(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(cli, ["platform", "invite", "--name", "Our Moodle"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    match = INVITE_URL.match(line)
    assert match, line
    token = match.group(1)
    other = runner.invoke(cli, ["platform", "invite", "--expires-in", "1.5"])
    assert other.exit_code == 0 and other.output.strip() != line

    first, second = stored_invites(app)
    assert first.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps([vars(i) for i in (first, second)], default=str)
    assert (first.name, first.used_at, first.platform_id) == ("Our Moodle", None, None)
    assert first.expires_at - first.created_at == dt.timedelta(hours=72)
    assert second.expires_at - second.created_at == dt.timedelta(hours=1.5)
    assert second.name == ""


@pytest.mark.parametrize("hours", ["0", "-3", "abc", "nan", "inf", "721", "1e9"])
def test_platform_invite_refuses_a_bad_expiry_and_stores_nothing(
    app: Flask, runner: FlaskCliRunner, hours: str
) -> None:
    result = runner.invoke(cli, ["platform", "invite", "--expires-in", hours])
    assert result.exit_code == 2
    assert "http" not in result.output
    assert re.search(r"expiry must be|--expires-in", result.output), result.output
    assert stored_invites(app) == []


class FakeRegistrationPlatform:
    """An LMS's side of dynamic registration, over loopback HTTP; records every request."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.config_override: dict[str, Any] = {}
        self.jwks_uri = ""
        self.registration_status = 200
        self.answer: dict[str, Any] | None = None  # the registration answer, if not Moodle's
        self.barrier: threading.Barrier | None = None
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
                platform.hits.append(f"GET {self.path}")
                base = platform.url
                self._answer(
                    {
                        "issuer": base,
                        "authorization_endpoint": f"{base}/auth",
                        "token_endpoint": f"{base}/token",
                        "jwks_uri": platform.jwks_uri or f"{base}/jwks",
                        "registration_endpoint": f"{base}/register",
                        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                            "product_family_code": "moodle"
                        },
                        **platform.config_override,
                    }
                )

            def do_POST(self) -> None:  # noqa: N802
                platform.hits.append(f"POST {self.path}")
                length = int(self.headers["Content-Length"])
                platform.received.append(
                    (json.loads(self.rfile.read(length)), self.headers.get("Authorization"))
                )
                number = len(platform.received)
                # A second registration gets another client id: stored, it would be a second
                # platform.
                client_id = "moodle-client-7" if number == 1 else f"moodle-client-{number}"
                if platform.barrier is not None:
                    platform.barrier.wait()
                if platform.registration_status != 200:
                    self._answer({"error": "invalid_client_metadata"}, platform.registration_status)
                    return
                if platform.answer is not None:
                    self._answer(platform.answer)
                    return
                self._answer(
                    {
                        "client_id": client_id,
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

    def opens(self, client: FlaskClient, tool_url: str, **extra: str) -> TestResponse:
        """What the LMS does with the Tool URL: open it with its own parameters appended."""
        query = {
            "openid_configuration": f"{self.url}/.well-known/openid-configuration",
            "registration_token": "token-123",
            **extra,
        }
        return client.get(f"{tool_url}&{urlencode(query)}")


@pytest.fixture
def lms() -> Iterator[FakeRegistrationPlatform]:
    server = FakeRegistrationPlatform()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def registration_app(app: Flask) -> FlaskClient:
    app.config["ALLOW_HTTP_PLATFORMS"] = True
    return app.test_client()


def invite(app: Flask, name: str = "", hours: float = 72) -> str:
    """A registration link, made the way `lms-plugin platform invite` makes it."""
    with app.app_context():
        url = create_invite(db.session, app.config["BASE_URL"], name, hours)
        db.session.commit()
    return url


def test_registration_through_an_invite_makes_the_platform_live(
    app: Flask,
    lms: FakeRegistrationPlatform,
    keyset: KeySetServer,
    platform_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    lms.jwks_uri = keyset.url
    client = registration_app(app)
    url = invite(app, "Our <b>Moodle</b>")
    token = url.rsplit("=", 1)[1]

    response = lms.opens(client, url)

    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "org.imsglobal.lti.close" in body
    assert "Our &lt;b&gt;Moodle&lt;/b&gt;" in body
    assert token not in body and token not in caplog.text
    assert response.headers["Referrer-Policy"] == "no-referrer"
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
        assert (platform.issuer, platform.client_id, platform.jwks_url, platform.name) == (
            lms.url,
            "moodle-client-7",
            keyset.url,
            "Our <b>Moodle</b>",
        )
        assert [d.deployment_id for d in db.session.scalars(select(Deployment))] == ["42"]
        used = db.session.scalar(select(RegistrationInvite))
        assert used is not None and used.used_at is not None and used.platform_id == platform.id

    # Live at once: the LMS can launch the tool, with no confirmation step in between.
    registered = LtiPlatform(platform_key, keyset)
    registered.issuer, registered.client_id = lms.url, "moodle-client-7"
    registered.deployment_id, registered.auth_login_url = "42", f"{lms.url}/auth"
    launched = registered.launch(client, "http://tool.test")
    assert launched.status_code == 303, launched.get_data(as_text=True)
    assert launched.headers["Location"].startswith("/launch/")


def test_a_registration_link_works_once(app: Flask, lms: FakeRegistrationPlatform) -> None:
    client = registration_app(app)
    url = invite(app)
    assert lms.opens(client, url).status_code == 200
    hits = list(lms.hits)

    again = lms.opens(client, url)

    assert refused(again)
    assert lms.hits == hits
    assert platform_count(app) == 1


def test_an_expired_registration_link_is_refused(app: Flask, lms: FakeRegistrationPlatform) -> None:
    client = registration_app(app)
    url = invite(app, hours=1)
    with app.app_context():
        stored = db.session.scalar(select(RegistrationInvite))
        assert stored is not None
        stored.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()

    response = lms.opens(client, url)

    assert refused(response)
    assert lms.hits == []
    assert platform_count(app) == 0
    assert [i.used_at for i in stored_invites(app)] == [None]


@pytest.mark.parametrize(
    "invite_query",
    ["", "invite=", "invite=wrong", "invite=TAMPERED", "invite=" + "x" * 5000],
)
def test_no_registration_without_a_valid_link_and_nothing_fetched(
    app: Flask, lms: FakeRegistrationPlatform, invite_query: str
) -> None:
    client = registration_app(app)
    valid = invite(app)
    if invite_query == "invite=TAMPERED":
        token = valid.rsplit("=", 1)[1]
        invite_query = "invite=" + token[:-1] + ("A" if token[-1] != "A" else "B")

    response = lms.opens(client, f"/lti/register?{invite_query}")

    assert refused(response)
    assert lms.hits == []
    assert platform_count(app) == 0
    assert [i.used_at for i in stored_invites(app)] == [None]


def test_the_register_url_alone_says_how_to_get_a_link(client: FlaskClient) -> None:
    response = client.get("/lti/register")
    assert refused(response)


def test_a_link_opened_in_a_browser_explains_itself_without_using_it_up(app: Flask) -> None:
    client = registration_app(app)
    url = invite(app, "Our <i>Canvas</i>")
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Our &lt;i&gt;Canvas&lt;/i&gt;" in page and "Tool URL" in page
    assert url.rsplit("=", 1)[1] not in page
    assert [i.used_at for i in stored_invites(app)] == [None]


def test_concurrent_uses_of_one_link_register_once(
    app: Flask, lms: FakeRegistrationPlatform
) -> None:
    registration_app(app)
    url = invite(app)
    # Both requests are past the invite check and the platform's answer before either claims it.
    lms.barrier = threading.Barrier(2, timeout=20)
    statuses: list[int] = []

    def use_link() -> None:
        statuses.append(lms.opens(app.test_client(), url).status_code)

    threads = [threading.Thread(target=use_link) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(lms.received) == 2
    assert sorted(statuses) == [200, 403]
    assert platform_count(app) == 1
    with app.app_context():
        platform = db.session.scalar(select(Platform))
        assert platform is not None
        [used] = stored_invites(app)
        assert used.used_at is not None and used.platform_id == platform.id


def test_a_failing_platform_leaves_the_link_usable(
    app: Flask, lms: FakeRegistrationPlatform
) -> None:
    client = registration_app(app)
    url = invite(app)
    lms.registration_status = 500

    failed = lms.opens(client, url)

    assert failed.status_code == 400
    assert "answered 500" in failed.get_data(as_text=True)
    assert platform_count(app) == 0
    assert [i.used_at for i in stored_invites(app)] == [None]

    lms.registration_status = 200
    assert lms.opens(client, url).status_code == 200
    assert platform_count(app) == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"issuer": "ftp://elsewhere.example.com"}, "issuer must be an absolute https URL"),
        ({"registration_endpoint": "/register"}, "registration_endpoint must be an absolute"),
        ({"jwks_uri": None}, "has no jwks_uri"),
        # Only Moodle's authorization endpoint is known without its configuration naming it.
        (
            {
                "authorization_endpoint": None,
                PLATFORM_CONFIGURATION: {"product_family_code": "canvas"},
            },
            "has no authorization_endpoint",
        ),
    ],
)
def test_dynamic_registration_refuses_inconsistent_platforms(
    app: Flask, lms: FakeRegistrationPlatform, override: dict[str, Any], message: str
) -> None:
    lms.config_override = override
    response = lms.opens(registration_app(app), invite(app))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert lms.received == []
    assert platform_count(app) == 0
    assert [i.used_at for i in stored_invites(app)] == [None]


def test_dynamic_registration_requires_https_outside_the_sandbox(
    app: Flask, client: FlaskClient, lms: FakeRegistrationPlatform
) -> None:
    response = lms.opens(client, invite(app))
    assert response.status_code == 400
    assert "must be an absolute https URL" in response.get_data(as_text=True)
    assert lms.hits == []


CANVAS_ISSUER = "https://canvas.instructure.com"


def canvas_shaped(lms: FakeRegistrationPlatform, jwks_uri: str) -> None:
    """Canvas's openid configuration and registration answer, as its own code builds them: the
    issuer is Canvas's `lti_iss`, every endpoint is on the institution's host, and the answer has
    a client id but no deployment id (deployments are made at install, one per account/course)."""
    lms.config_override = {
        "issuer": CANVAS_ISSUER,
        "authorization_endpoint": f"{lms.url}/api/lti/authorize_redirect",
        "token_endpoint": f"{lms.url}/login/oauth2/token",
        "jwks_uri": jwks_uri,
        "registration_endpoint": f"{lms.url}/api/lti/registrations",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256"],
        PLATFORM_CONFIGURATION: {
            "product_family_code": "canvas",
            "version": "OpenSource",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest"},
            ],
        },
    }
    lms.answer = {
        "client_id": "10000000000042",
        "application_type": "web",
        "grant_types": ["client_credentials", "implicit"],
        "response_types": ["id_token"],
        "initiate_login_uri": "http://tool.test/lti/login",
        "redirect_uris": ["http://tool.test/lti/launch"],
        "token_endpoint_auth_method": "private_key_jwt",
        TOOL_CONFIGURATION: {
            "domain": "tool.test",
            "target_link_uri": "http://tool.test/lti/launch",
        },
    }


def test_canvas_shaped_registration_then_a_later_deployment_launches_with_no_cli_step(
    app: Flask,
    runner: FlaskCliRunner,
    lms: FakeRegistrationPlatform,
    keyset: KeySetServer,
    platform_key: rsa.RSAPrivateKey,
) -> None:
    canvas_shaped(lms, keyset.url)
    client = registration_app(app)
    # Canvas's configuration URL carries the registration token; its host is the institution's.
    config_url = f"{lms.url}/api/lti/security/openid-configuration?registration_token=abc"

    response = lms.opens(client, invite(app, "Our Canvas"), openid_configuration=config_url)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert lms.hits[0] == "GET /api/lti/security/openid-configuration?registration_token=abc"
    assert lms.hits[1] == "POST /api/lti/registrations"
    with app.app_context():
        platform = db.session.scalar(select(Platform))
        assert platform is not None
        assert (platform.issuer, platform.client_id, platform.auth_login_url) == (
            CANVAS_ISSUER,
            "10000000000042",
            f"{lms.url}/api/lti/authorize_redirect",
        )
        assert platform.any_deployment
        assert db.session.scalar(select(func.count()).select_from(Deployment)) == 0

    # An administrator installs the app in an account: Canvas makes a deployment, then launches.
    canvas = LtiPlatform(platform_key, keyset)
    canvas.issuer, canvas.client_id = CANVAS_ISSUER, "10000000000042"
    canvas.auth_login_url = f"{lms.url}/api/lti/authorize_redirect"
    canvas.deployment_id = "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
    launched = canvas.launch(client, "http://tool.test")
    assert launched.status_code == 303, launched.get_data(as_text=True)
    canvas.deployment_id = "12:2b1f3d2e9a"  # installed in a course later: a second deployment
    assert canvas.launch(client, "http://tool.test", sub="learner-2").status_code == 303

    with app.app_context():
        stored = [
            (d.deployment_id, d.from_launch)
            for d in db.session.scalars(select(Deployment).order_by(Deployment.id))
        ]
    assert stored == [
        ("7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", True),
        ("12:2b1f3d2e9a", True),
    ]
    [listed] = json.loads(runner.invoke(cli, ["platform", "list", "--json"]).output)
    assert listed["any_deployment"] is True
    assert listed["deployments_from_launches"] == [d for d, _ in stored]
    text = runner.invoke(cli, ["platform", "list"]).output
    assert "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb (recorded from a launch)" in text
    assert "any other is recorded from its first launch" in text


def test_moodle_configuration_without_authorization_endpoint_uses_moodles_own(
    app: Flask, lms: FakeRegistrationPlatform
) -> None:
    lms.config_override = {"authorization_endpoint": None}  # product_family_code is "moodle"

    response = lms.opens(registration_app(app), invite(app))

    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        platform = db.session.scalar(select(Platform))
        assert platform is not None
        assert platform.auth_login_url == f"{lms.url}/mod/lti/auth.php"


def test_a_registration_cannot_take_over_a_known_platform(
    app: Flask, lms: FakeRegistrationPlatform, keyset: KeySetServer
) -> None:
    """Hosts are not compared (Canvas's differ), so an answer naming an issuer and client id
    already registered must not replace that platform's keys."""
    canvas_shaped(lms, f"{lms.url}/attacker-jwks")
    with app.app_context():
        add_platform(
            db.session,
            PlatformSettings(
                issuer=CANVAS_ISSUER,
                client_id="10000000000042",
                auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
                auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
                jwks_url=keyset.url,
            ),
            ["1:abc"],
        )
        db.session.commit()

    response = lms.opens(registration_app(app), invite(app))

    assert response.status_code == 400
    assert "already registered" in response.get_data(as_text=True)
    with app.app_context():
        platform = db.session.scalar(select(Platform))
        assert platform is not None and platform.jwks_url == keyset.url
        assert not platform.any_deployment
    assert [i.used_at for i in stored_invites(app)] == [None]
