"""Fixtures: every database test runs once on SQLite and once on PostgreSQL.

PostgreSQL runs create their own database (`lms_test_<random>`) on the server named by
`TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`) and drop it afterwards, so
runs never collide. The schema is built by migrating, once per backend; each test then starts from
empty tables.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, create_engine, make_url, text

from lms_plugin import create_app, keys, migrate
from lms_plugin.config import PROJECT_ROOT, normalize_database_url
from lms_plugin.database import make_engine
from lms_plugin.models import Base
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key

pytest_plugins = ["tests.browser", "tests.live_server", "tests.courses"]

POSTGRES_URL = normalize_database_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
SEEDS = PROJECT_ROOT / "seeds"
BACKENDS = ["sqlite", "postgresql"]


class TemporaryDatabase:
    """An empty database of one backend that disappears when closed."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / f'{uuid.uuid4().hex}.sqlite3'}"
            return
        self.name = f"lms_test_{uuid.uuid4().hex[:16]}"
        with self._admin() as admin, admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(POSTGRES_URL).set(database=self.name).render_as_string(False)

    @staticmethod
    def _admin() -> _DisposingEngine:
        return _DisposingEngine(create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT"))

    def close(self) -> None:
        if self.backend == "postgresql":
            with self._admin() as admin, admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class _DisposingEngine:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_exc: object) -> None:
        self.engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TemporaryDatabase]:
    """A fresh, empty database per test (for migration tests)."""
    database = TemporaryDatabase(request.param, tmp_path)
    yield database
    database.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated to head, shared by the tests of one backend."""
    database = TemporaryDatabase(request.param, tmp_path_factory.mktemp("db"))
    engine = make_engine(database.url)
    migrate.upgrade(engine)
    engine.dispose()
    yield database.url
    database.close()


def empty_tables(engine: Engine) -> None:
    """Delete every row, children first (on small tables DELETE is much faster than TRUNCATE)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def rsa_key_pool() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(autouse=True)
def fast_tool_keys(monkeypatch: pytest.MonkeyPatch, rsa_key_pool: list[rsa.RSAPrivateKey]) -> None:
    """RSA key generation is slow: tests take the tool's LTI keys from a small pool, in turn."""
    pool = itertools.cycle(rsa_key_pool)
    real = keys.new_private_key
    monkeypatch.setattr(
        keys, "new_private_key", lambda purpose: next(pool) if purpose == "lti" else real(purpose)
    )


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the migrated database (`make_app(BASE_URL=...)`); tables are emptied after."""
    engines: list[Engine] = []

    def build(**overrides: Any) -> Flask:
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": "test-secret-key",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "SEEDS_DIR": str(SEEDS),
                "BASE_URL": "http://tool.test",
                "ALLOW_PRIVATE_ADDRESSES": True,
                **overrides,
            }
        )
        engines.append(app.extensions["database"].kw["bind"])
        return app

    yield build
    if engines:
        empty_tables(engines[0])
    for engine in engines:
        engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app on a migrated database; tables are emptied after each test."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="session")
def keyset() -> Iterator[KeySetServer]:
    """A test platform's JWKS, served over loopback HTTP."""
    server = KeySetServer()
    yield server
    server.close()


@pytest.fixture
def platform(app: Flask, platform_key: rsa.RSAPrivateKey, keyset: KeySetServer) -> LtiPlatform:
    """A registered test LMS platform (issuer, client id, deployment)."""
    test_platform = LtiPlatform(platform_key, keyset)
    test_platform.register(app)
    return test_platform
