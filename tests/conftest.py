"""Fixtures: every database test runs once on SQLite and once on PostgreSQL.

PostgreSQL runs create their own database (`lms_test_<random>`) on the server named by
`TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`) and drop it afterwards, so
runs never collide. The schema is built by migrating, once per backend; each test then starts from
empty tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, create_engine, make_url, text

from lms_plugin import create_app, migrate
from lms_plugin.config import PROJECT_ROOT, normalize_database_url
from lms_plugin.database import make_engine
from lms_plugin.models import Base

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
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a migrated database; tables are emptied after each test."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SEEDS_DIR": str(SEEDS),
            "BASE_URL": "http://tool.test",
        }
    )
    yield app
    engine = app.extensions["database"].kw["bind"]
    empty_tables(engine)
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
