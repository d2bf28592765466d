"""What a launch POST costs the database: at most 6 statements once the process has seen its
platform (registrations, deployments, platform keys and placements' levels come from the
process's `Registry`; course, person, enrollment, link and the launch's context are one upsert
each on SQLite, one statement with the nonce on PostgreSQL), one round trip to PostgreSQL, and a
change to the registrations made by another process (the CLI) reaches a running server within
`registry.CHECK_SECONDS`. Also the launch's `Server-Timing` phases."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, make_url, select

from lms_plugin import database
from lms_plugin.database import db
from lms_plugin.lti import claims, registry
from lms_plugin.lti.models import Deployment, Enrollment, Person, ResourceLink
from lms_plugin.lti.registrations import PlatformSettings, add_platform
from tests.lti.platform import INSTRUCTOR, KeySetServer, LtiPlatform
from tests.sql_sent import sql_sent

BASE = "http://tool.test"
BUDGET = 6
NEW = "deployment-new"


def statements(app: Flask) -> AbstractContextManager[list[str]]:
    """The SQL statements sent to the app's database meanwhile."""
    return sql_sent(app.extensions["database"].kw["bind"])


def post_launch(
    app: Flask, client: FlaskClient, platform: LtiPlatform, **overrides: Any
) -> tuple[Any, list[str]]:
    """Log in, then POST the id_token; returns the POST's response and its statements."""
    auth = platform.login(client, BASE)
    token = platform.sign(platform.claims(auth["nonce"], BASE, **overrides))
    with statements(app) as sent:
        response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    return response, sent


@pytest.fixture
def no_version_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registrations' version is read at the first launch only (not when a slow machine
    lets `CHECK_SECONDS` pass between two launches of a test)."""
    monkeypatch.setattr(registry, "CHECK_SECONDS", 3600.0)


STAFF = {
    "sub": "teacher-1",
    claims.ROLES: [INSTRUCTOR],
    claims.NRPS: {"context_memberships_url": "https://lms.example.edu/roster"},
    claims.AGS_ENDPOINT: {
        "scope": [claims.SCOPE_SCORE],
        "lineitem": "https://lms.example.edu/lineitems/1",
        "lineitems": "https://lms.example.edu/lineitems",
    },
}

# A deep-linking request's claims (no resource link).
DEEP_LINKING = {
    claims.MESSAGE_TYPE: claims.DEEP_LINKING_REQUEST,
    claims.DEEP_LINKING_SETTINGS: {
        "deep_link_return_url": "https://lms.example.edu/return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe"],
    },
    claims.RESOURCE_LINK: None,
}


@pytest.mark.usefixtures("no_version_check")
def test_a_launch_post_costs_at_most_six_statements(
    app: Flask, client: FlaskClient, platform: LtiPlatform, version_id: int
) -> None:
    placed = {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}
    first, _ = post_launch(
        app, client, platform, **STAFF, **placed
    )  # the process meets its platform
    assert first.status_code == 303, first.get_data(as_text=True)

    kinds = {
        "learner": {"sub": "learner-2"},
        "learner of a placed link": {"sub": "learner-3", **placed},
        "staff of a placed link, with roster and gradebook": {**STAFF, **placed},
        "new learner in a new course": {
            "sub": "learner-4",
            claims.CONTEXT: {"id": "course-2", "title": "Other course"},
            claims.RESOURCE_LINK: {"id": "link-2"},
        },
        "deep linking": {**STAFF, **DEEP_LINKING},
    }
    for kind, overrides in kinds.items():
        response, sent = post_launch(app, client, platform, **overrides)
        assert response.status_code == 303, (kind, response.get_data(as_text=True)[:300])
        assert len(sent) <= BUDGET, (kind, sent)

    with app.app_context():
        link = db.session.scalar(
            select(ResourceLink).where(ResourceLink.resource_link_id == "link-1")
        )
        assert link is not None
        assert (link.framework_version_id, link.level_keys) == (version_id, ["emerging"])
        assert link.line_item_url == "https://lms.example.edu/lineitems/1"
        teacher = db.session.scalar(
            select(Enrollment).join(Person).where(Person.sub == "teacher-1")
        )
        assert teacher is not None and teacher.is_staff and teacher.source == "launch"


def test_a_second_launch_changes_what_it_carries_and_keeps_what_it_omits(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    email = {"email": "chloe@example.edu"}
    assert post_launch(app, client, platform, **email)[0].status_code == 303
    renamed = {
        "name": "Chloé Martin",
        "given_name": None,
        "family_name": None,
        claims.CONTEXT: {"id": "course-1"},  # no title or label this time
        claims.RESOURCE_LINK: {"id": "link-1", "title": "Renamed"},
    }
    assert post_launch(app, client, platform, **renamed)[0].status_code == 303
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert person is not None
        assert (person.name, person.given_name, person.email) == (
            "Chloé Martin",
            "Chloé",
            "chloe@example.edu",
        )
        link = db.session.scalar(select(ResourceLink))
        assert link is not None and link.title == "Renamed"
        course = link.course_id
    page = client.get(post_launch(app, client, platform)[0].headers["Location"])
    assert "Legal Support 101" in page.get_data(as_text=True), course


def test_the_launch_reports_its_phases_in_server_timing(
    app: Flask, client: FlaskClient, platform: LtiPlatform
) -> None:
    response, _ = post_launch(app, client, platform)
    timing = response.headers["Server-Timing"]
    names = re.findall(r"(\w+);dur=[\d.]+", timing)
    assert names == ["app", "validate", "record", "render", "commit"], timing


def cli(app: Flask, *args: str) -> subprocess.CompletedProcess[str]:
    """`lms-plugin` in a process of its own, on the app's database."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": app.instance_path,
        "SANDBOX_ENABLED": "0",
    }
    script = Path(sys.executable).parent / "lms-plugin"
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_registration_changed_by_another_process_reaches_the_server_within_the_check(
    app: Flask,
    client: FlaskClient,
    platform: LtiPlatform,
    keyset: KeySetServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "CHECK_SECONDS", 3600.0)
    assert post_launch(app, client, platform)[0].status_code == 303  # platform cached here
    opened = cli(
        app,
        "platform",
        "add",
        "--issuer",
        platform.issuer,
        "--client-id",
        platform.client_id,
        "--auth-login-url",
        platform.auth_login_url,
        "--auth-token-url",
        "https://lms.example.edu/token",
        "--jwks-url",
        keyset.url,
        "--any-deployment",
    )
    assert opened.returncode == 0, opened.stderr

    # Until the version is read again, this process keeps what it read (listed deployments).
    stale, _ = post_launch(app, client, platform, **{claims.DEPLOYMENT_ID: NEW})
    assert stale.status_code == 400

    monkeypatch.setattr(registry, "CHECK_SECONDS", 0.0)
    fresh, _ = post_launch(app, client, platform, **{claims.DEPLOYMENT_ID: NEW})
    assert fresh.status_code == 303, fresh.get_data(as_text=True)
    with app.app_context():
        recorded = db.session.scalars(select(Deployment.deployment_id).order_by(Deployment.id))
        assert list(recorded) == ["deployment-1", NEW]


def test_a_change_in_this_process_empties_its_cache_at_once(
    app: Flask, client: FlaskClient, platform: LtiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "CHECK_SECONDS", 3600.0)
    assert post_launch(app, client, platform)[0].status_code == 303
    with app.app_context():  # the same registration, with a key set URL where nothing listens
        settings = PlatformSettings(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url,
            auth_token_url="https://lms.example.edu/token",
            jwks_url="http://127.0.0.1:9/jwks",
        )
        add_platform(db.session, settings)
        db.session.commit()

    refused, _ = post_launch(app, client, platform)
    assert refused.status_code == 400
    assert "Cannot fetch the platform" in refused.get_data(as_text=True)


class RoundTrips:
    """A TCP proxy in front of the database server that counts round trips: each time a client
    speaks after the server has answered it (or first)."""

    def __init__(self, url: str) -> None:
        target = make_url(url)
        self.upstream = (target.host or "127.0.0.1", target.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = target.set(port=self.listener.getsockname()[1]).render_as_string(False)
        self.count = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            answered = threading.Event()
            answered.set()
            for source, sink, asks in ((client, server, True), (server, client, False)):
                pump = threading.Thread(
                    target=self._pump, args=(source, sink, answered, asks), daemon=True
                )
                pump.start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, answered: threading.Event, asks: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                if not asks:
                    answered.set()
                elif answered.is_set():
                    answered.clear()
                    self.count += 1
                sink.sendall(data)
        except OSError:
            pass
        finally:  # shut down, not just closed: that wakes the other pump's recv, and the peer
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


@pytest.fixture
def round_trips(database_url: str) -> Iterator[RoundTrips]:
    """Round trips to the test database through a counting proxy (torn down after the apps)."""
    proxy = RoundTrips(database_url)
    yield proxy
    proxy.listener.close()


POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@POSTGRESQL_ONLY
@pytest.mark.usefixtures("no_version_check")
def test_a_launch_post_is_one_round_trip_to_postgresql(
    round_trips: RoundTrips,
    make_app: Callable[..., Flask],
    platform: LtiPlatform,
    version_id: int,
) -> None:
    """Nonce, course, person, enrollment, link and the launch's context in one statement, run
    alone (no BEGIN, no COMMIT) on a pooled connection used moments ago (no ping)."""
    app = make_app(DATABASE_URL=round_trips.url)
    client = app.test_client()
    placed = {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}
    first, _ = post_launch(app, client, platform, **placed)  # the process meets its platform
    assert first.status_code == 303, first.get_data(as_text=True)

    kinds = {
        "learner": {"sub": "learner-2"},
        "learner of a placed link": {"sub": "learner-3", **placed},
        "new learner in a new course": {
            "sub": "learner-4",
            claims.CONTEXT: {"id": "course-2", "title": "Other course"},
            claims.RESOURCE_LINK: {"id": "link-2"},
        },
        "staff, deep linking": {"sub": "teacher-1", claims.ROLES: [INSTRUCTOR], **DEEP_LINKING},
    }
    for kind, overrides in kinds.items():
        auth = platform.login(client, BASE)
        token = platform.sign(platform.claims(auth["nonce"], BASE, **overrides))
        round_trips.count = 0
        with statements(app) as sent:
            response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
        assert response.status_code == 303, (kind, response.get_data(as_text=True)[:300])
        assert (len(sent), round_trips.count) == (1, 1), (kind, sent)
    page = client.get(response.headers["Location"])  # the context saved by that one statement
    assert page.status_code == 200 and "Other course" not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 5


@POSTGRESQL_ONLY
def test_a_pooled_connection_idle_past_the_limit_is_checked_and_replaced_if_dead(
    round_trips: RoundTrips,
    make_app: Callable[..., Flask],
    app: Flask,
    platform: LtiPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied = make_app(DATABASE_URL=round_trips.url)
    client = proxied.test_client()
    assert post_launch(proxied, client, platform)[0].status_code == 303
    with proxied.app_context():
        pooled = db.session.scalar(select(func.pg_backend_pid()))
    with app.app_context():  # the server drops it while it sits in the pool
        assert db.session.scalar(select(func.pg_terminate_backend(pooled)))

    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    response, _ = post_launch(proxied, client, platform, sub="learner-2")
    assert response.status_code == 303, response.get_data(as_text=True)
