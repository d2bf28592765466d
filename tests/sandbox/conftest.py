"""Fixtures for the sandbox LMS: an app with the sandbox on (SQLite and PostgreSQL), the sandbox
set up, and a fake tool whose RSA key signs client assertions and deep-linking responses.

The tool's JWKS fetch is replaced at our own edge (`toolkeys.download_jwks`) except in
`test_tool_jwks_http.py`, which fetches it over real HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.database import db
from lms_plugin.sandbox import keys, toolkeys
from lms_plugin.sandbox.setup import ensure_sandbox
from tests.sandbox.helpers import BASE, FakeTool, rsa_key


@pytest.fixture(scope="session")
def sandbox_rsa_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def tool_rsa_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def stranger_rsa_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(autouse=True)
def fast_sandbox_key(
    monkeypatch: pytest.MonkeyPatch, sandbox_rsa_key: rsa.RSAPrivateKey
) -> Iterator[None]:
    """Generating RSA keys is slow: every test's sandbox gets the same one."""
    monkeypatch.setattr(keys, "generate_rsa_key", lambda: sandbox_rsa_key)
    toolkeys.clear_cache()
    yield
    toolkeys.clear_cache()


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch, tool_rsa_key: rsa.RSAPrivateKey) -> FakeTool:
    fake = FakeTool(tool_rsa_key)
    monkeypatch.setattr(toolkeys, "download_jwks", fake.download)
    return fake


@pytest.fixture
def sandbox_app(make_app: Callable[..., Flask]) -> Flask:
    """The app with the sandbox enabled (BASE_URL http://tool.test); tables emptied after."""
    return make_app(SANDBOX_ENABLED=True)


@pytest.fixture
def sandbox(sandbox_app: Flask) -> Flask:
    """The app with the sandbox set up (as `lms-plugin init` does)."""
    with sandbox_app.app_context():
        ensure_sandbox(db.session, BASE)
        db.session.commit()
    return sandbox_app


@pytest.fixture
def client(sandbox: Flask) -> FlaskClient:
    return sandbox.test_client()
