"""Fixtures: a real LRS (Ralph) shared by the session, an app that delivers to it, a placed course
with staff and learners judging through the API, and helpers to read the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lms_plugin.database import db
from tests.courses import Course, placed_course, version_id  # noqa: F401
from tests.lti.platform import LtiPlatform
from tests.xapi.lrs_tools import FaultyLrs, Ralph, ralph_server
from xapi.models import OutboxStatement


@pytest.fixture(scope="session")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    with ralph_server(tmp_path_factory.mktemp("ralph")) as server:
        yield server


@pytest.fixture
def faulty_lrs(ralph: Ralph) -> Iterator[FaultyLrs]:
    proxy = FaultyLrs(ralph.endpoint)
    yield proxy
    proxy.close()


def lrs_config(endpoint: str, ralph: Ralph) -> dict[str, Any]:
    return {
        "XAPI_LRS_ENDPOINT": endpoint,
        "XAPI_LRS_USERNAME": ralph.username,
        "XAPI_LRS_PASSWORD": ralph.password,
    }


@pytest.fixture
def course(app: Flask, platform: LtiPlatform, version_id: int) -> Course:  # noqa: F811
    return placed_course(app, platform, version_id)


def outbox(app: Flask) -> list[OutboxStatement]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxStatement).order_by(OutboxStatement.id)).all()
        db.session.expunge_all()
        return list(rows)


def statements(app: Flask) -> list[dict[str, Any]]:
    return [json.loads(row.payload) for row in outbox(app)]


def by_verb(items: list[dict[str, Any]], verb: str) -> list[dict[str, Any]]:
    return [s for s in items if s["verb"]["id"] == verb]


@pytest.fixture
def instance_env(tmp_path: Path, database_url: str) -> Callable[..., dict[str, str]]:
    """The environment for an `lms-plugin` subprocess on the test database."""

    def build(**extra: str) -> dict[str, str]:
        import os

        from lms_plugin.config import ENVIRONMENT_KEYS

        env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_KEYS}
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY="test-secret-key",
            BASE_URL="http://tool.test",
            INSTANCE_PATH=str(tmp_path / "instance"),
            **extra,
        )
        return env

    return build
