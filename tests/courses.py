"""Fixtures (a pytest plugin): a course with one placed activity, a staff member and learners, all
through real launches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from tests.builders import SEED_FILES
from tests.lti.platform import INSTRUCTOR, LtiPlatform

BASE = "http://tool.test"


@dataclass
class Session:
    """One browser after a launch: its client, launch id and CSRF token."""

    client: FlaskClient
    launch_id: str
    csrf: str
    person_id: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"X-LTI-Launch-Id": self.launch_id, "X-CSRFToken": self.csrf}

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any) -> TestResponse:
        return self.client.post(path, headers=self.headers, json=json)

    def judge(self, *items: tuple[int, int, str], **extra: Any) -> TestResponse:
        return self.post(
            "/api/v1/judgements",
            {
                "judgements": [
                    {"learner_id": learner, "statement_id": statement, "verdict": verdict, **extra}
                    for learner, statement, verdict in items
                ]
            },
        )


def launch_as(
    app: Flask, platform: LtiPlatform, sub: str, name: str, staff: bool, **overrides: Any
) -> Session:
    client = app.test_client()
    roles = [INSTRUCTOR] if staff else ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    response = platform.launch(
        client, BASE, sub=sub, name=name, **{claims.ROLES: roles, **overrides}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, page
    session = Session(client, location.rsplit("/", 1)[1], token.group(1))
    from lms_plugin.lti.services import LaunchContext
    from lms_plugin.lti.state_store import StateStore

    with app.app_context():
        launch = LaunchContext.load(StateStore(db.session), session.launch_id)
        assert launch is not None
        session.person_id = launch.person_id
    return session


@dataclass
class Course:
    staff: Session
    learners: list[Session]
    statements: dict[str, list[int]]
    version_id: int

    @property
    def learner_ids(self) -> list[int]:
        return [s.person_id for s in self.learners]


@pytest.fixture
def version_id(app: Flask) -> int:
    with app.app_context():
        results = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
        return results[0].version.id


def placed_course(
    app: Flask,
    platform: LtiPlatform,
    version_id: int,
    *,
    context_id: str = "course-1",
    levels: str = "emerging,developing",
    learners: int = 2,
) -> Course:
    custom = {claims.CUSTOM: {"framework": str(version_id), "levels": levels}}
    context = {claims.CONTEXT: {"id": context_id, "title": f"Course {context_id}"}}
    learner_sessions = [
        launch_as(
            app, platform, f"{context_id}-learner-{i}", f"Learner {i}", False, **custom, **context
        )
        for i in range(learners)
    ]
    staff = launch_as(app, platform, f"{context_id}-teacher", "Teacher", True, **custom, **context)
    grid = staff.get("/api/v1/grid").json
    assert grid is not None
    statements = {level["key"]: [s["id"] for s in level["statements"]] for level in grid["levels"]}
    return Course(staff, learner_sessions, statements, version_id)


@pytest.fixture
def course(app: Flask, platform: LtiPlatform, version_id: int) -> Course:
    return placed_course(app, platform, version_id)
