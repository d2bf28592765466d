"""Fixtures for LTI tests: a registered test platform whose JWKS is served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key


@pytest.fixture(scope="session")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def keyset() -> Iterator[KeySetServer]:
    server = KeySetServer()
    yield server
    server.close()


@pytest.fixture
def platform(app: Flask, platform_key: rsa.RSAPrivateKey, keyset: KeySetServer) -> LtiPlatform:
    test_platform = LtiPlatform(platform_key, keyset)
    test_platform.register(app)
    return test_platform
