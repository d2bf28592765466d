"""Fetching the tool's JWKS over real HTTP (a tiny server on loopback stands in for the tool)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lms_plugin.sandbox import toolkeys
from tests.sandbox.helpers import public_jwk


class ToolServer:
    """Answers GET with `self.status` and `self.body`; counts requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"keys": []}'
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests += 1
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/lti/jwks"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def serve(self, jwks: dict[str, Any]) -> None:
        self.body = json.dumps(jwks).encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ToolServer]:
    tool_server = ToolServer()
    yield tool_server
    tool_server.close()


def signed(key: rsa.RSAPrivateKey, kid: str, audience: str = "http://sandbox/token") -> str:
    now = int(time.time())
    claims = {"iss": "sandbox-tool", "aud": audience, "iat": now, "exp": now + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_jwks_is_fetched_over_http_cached_and_refetched_for_a_new_kid(
    server: ToolServer,
    tool_rsa_key: rsa.RSAPrivateKey,
    stranger_rsa_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(toolkeys, "REFETCH_AFTER_SECONDS", 0.0)
    server.serve({"keys": [public_jwk(tool_rsa_key, "k1")]})
    check = {"audience": "http://sandbox/token", "issuer": "sandbox-tool"}

    claims = toolkeys.decode_tool_jwt(signed(tool_rsa_key, "k1"), server.url, **check)
    assert claims["iss"] == "sandbox-tool"
    toolkeys.decode_tool_jwt(signed(tool_rsa_key, "k1"), server.url, **check)
    assert server.requests == 1

    server.serve({"keys": [public_jwk(tool_rsa_key, "k1"), public_jwk(stranger_rsa_key, "k2")]})
    toolkeys.decode_tool_jwt(signed(stranger_rsa_key, "k2"), server.url, **check)
    assert server.requests == 2


def test_unknown_kid_is_not_refetched_again_and_again(
    server: ToolServer, tool_rsa_key: rsa.RSAPrivateKey
) -> None:
    server.serve({"keys": [public_jwk(tool_rsa_key, "k1")]})
    check = {"audience": "http://sandbox/token", "issuer": "sandbox-tool"}
    toolkeys.decode_tool_jwt(signed(tool_rsa_key, "k1"), server.url, **check)
    for _ in range(5):
        with pytest.raises(toolkeys.ToolKeyError, match="no RS256 signing key"):
            toolkeys.decode_tool_jwt(signed(tool_rsa_key, "unknown"), server.url, **check)
    assert server.requests == 1  # within REFETCH_AFTER_SECONDS of the last fetch


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, b"{}", "answered 404"),
        (200, b"<html>", "not JSON"),
        (200, b'{"no": "keys"}', "no 'keys' list"),
        (200, b"[" + b" " * (300 * 1024) + b"]", "too large"),
    ],
)
def test_bad_jwks_answers_are_clear_errors(
    server: ToolServer, status: int, body: bytes, message: str
) -> None:
    server.status, server.body = status, body
    with pytest.raises(toolkeys.ToolKeyError, match=message):
        toolkeys.download_jwks(server.url)


def test_unreachable_tool_is_a_clear_error() -> None:
    with pytest.raises(toolkeys.ToolKeyError, match="could not fetch"):
        toolkeys.download_jwks("http://127.0.0.1:9/lti/jwks")
