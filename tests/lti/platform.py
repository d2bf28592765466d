"""A test LTI platform: an RSA key, its JWKS served over real HTTP on loopback, and the browser
side of the OIDC launch flow driven through Flask's test client."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_plugin.database import db
from lms_plugin.lti import claims
from lms_plugin.lti.registrations import PlatformSettings, add_platform

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class KeySetServer:
    """Serves a JWKS (changeable while running) and counts fetches."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.fetches += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LtiPlatform:
    """One registered platform (issuer + client id + deployment)."""

    issuer = "https://lms.example.edu"
    client_id = "tool-client-1"
    deployment_id = "deployment-1"
    auth_login_url = "https://lms.example.edu/auth"

    def __init__(self, key: rsa.RSAPrivateKey, keyset: KeySetServer) -> None:
        self.key = key
        self.kid = "platform-key-1"
        self.keyset = keyset
        keyset.jwks = {"keys": [public_jwk(key, self.kid)]}

    def register(self, app: Flask) -> None:
        with app.app_context():
            add_platform(
                db.session,
                PlatformSettings(
                    issuer=self.issuer,
                    client_id=self.client_id,
                    auth_login_url=self.auth_login_url,
                    auth_token_url="https://lms.example.edu/token",
                    jwks_url=self.keyset.url,
                    name="Test LMS",
                ),
                [self.deployment_id],
            )
            db.session.commit()

    def claims(self, nonce: str, base_url: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "learner-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Chloé Dubois",
            "given_name": "Chloé",
            "family_name": "Dubois",
            claims.MESSAGE_TYPE: claims.RESOURCE_LINK_REQUEST,
            claims.VERSION: "1.3.0",
            claims.DEPLOYMENT_ID: self.deployment_id,
            claims.TARGET_LINK_URI: f"{base_url}/lti/launch",
            claims.RESOURCE_LINK: {"id": "link-1", "title": "Competencies"},
            claims.ROLES: [LEARNER],
            claims.CONTEXT: {"id": "course-1", "label": "LAW101", "title": "Legal Support 101"},
        }
        body.update(overrides)
        return {key: value for key, value in body.items() if value is not None}

    def sign(self, body: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(body, self.key, algorithm="RS256", headers=headers)

    def login(self, client: FlaskClient, base_url: str, **params: str) -> dict[str, str]:
        """Start the OIDC flow; returns the authorization request's parameters."""
        query = {
            "iss": self.issuer,
            "login_hint": "hint-1",
            "target_link_uri": f"{base_url}/lti/launch",
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
            **params,
        }
        response = client.get("/lti/login", query_string=query)
        assert response.status_code == 302, response.get_data(as_text=True)
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.auth_login_url
        return {key: values[0] for key, values in parse_qs(location.query).items()}

    def launch(
        self,
        client: FlaskClient,
        base_url: str,
        *,
        token: str | None = None,
        state: str | None = None,
        **overrides: Any,
    ) -> TestResponse:
        """A complete launch (login, then id_token POST), with claims overridden as given."""
        auth = self.login(client, base_url)
        if token is None:
            token = self.sign(self.claims(auth["nonce"], base_url, **overrides))
        return client.post("/lti/launch", data={"id_token": token, "state": state or auth["state"]})
