"""Deployment policy: listed deployments only (CLI default), or any deployment recorded from its
first launch that passed every check (dynamic registration, `platform add --any-deployment`)."""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pylti1p3.contrib.flask import FlaskRequest
from pylti1p3.exception import LtiException
from sqlalchemy import func, select

from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.lti import claims, current, registrations
from lms_plugin.lti.message_launch import ToolMessageLaunch
from lms_plugin.lti.models import Course, Deployment, Platform
from tests.lti.platform import KeySetServer, LtiPlatform
from tests.lti.test_launch import tampered, unsigned

BASE = "http://tool.test"
NEW = "deployment-new"


def add_args(platform: LtiPlatform, keyset: KeySetServer, *extra: str) -> list[str]:
    return [
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
        *extra,
    ]


def deployments(app: Flask) -> list[tuple[str, bool]]:
    with app.app_context():
        rows = db.session.scalars(select(Deployment).order_by(Deployment.id))
        return [(d.deployment_id, d.from_launch) for d in rows]


def course_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Course)) or 0


def open_policy(app: Flask) -> None:
    with app.app_context():
        stored = db.session.scalar(select(Platform))
        assert stored is not None
        stored.any_deployment = True
        db.session.commit()


def test_a_cli_platform_refuses_an_unknown_deployment_unless_opted_in(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    platform: LtiPlatform,
    keyset: KeySetServer,
) -> None:
    refused = platform.launch(client, BASE, **{claims.DEPLOYMENT_ID: NEW})

    assert refused.status_code == 400
    page = " ".join(refused.get_data(as_text=True).split())
    assert (
        "The launch was refused: its deployment (&#39;deployment-new&#39;) is not registered"
        in (page)
    )
    assert "--deployment-id" in page
    assert deployments(app) == [("deployment-1", False)]
    assert course_count(app) == 0

    result = runner.invoke(cli, add_args(platform, keyset, "--any-deployment"))
    assert result.exit_code == 0, result.output
    assert "deployments: deployment-1; any other is recorded from its first launch" in (
        result.output
    )

    assert platform.launch(client, BASE, **{claims.DEPLOYMENT_ID: NEW}).status_code == 303
    assert deployments(app) == [("deployment-1", False), (NEW, True)]
    with app.app_context():
        course = db.session.scalar(select(Course))
        new = db.session.scalar(select(Deployment).where(Deployment.deployment_id == NEW))
        assert course is not None and new is not None and course.deployment_id == new.id
    listed = runner.invoke(cli, ["platform", "list"]).output
    assert f"deployment-1, {NEW} (recorded from a launch); any other is recorded" in listed


def test_platform_add_policy_flags(
    app: Flask, runner: FlaskCliRunner, platform: LtiPlatform, keyset: KeySetServer
) -> None:
    missing = runner.invoke(cli, add_args(platform, keyset))
    assert missing.exit_code == 2
    assert "--deployment-id, or --any-deployment" in missing.output

    other = LtiPlatform(platform.key, keyset)
    other.client_id = "tool-client-2"
    opened = runner.invoke(cli, add_args(other, keyset, "--any-deployment"))
    assert opened.exit_code == 0, opened.output
    assert "deployments: none yet; any other is recorded from its first launch" in opened.output

    # Run again without the flag, to add a deployment: the policy stays as it was.
    kept = runner.invoke(cli, add_args(other, keyset, "--deployment-id", "d-2"))
    assert "deployments: d-2; any other is recorded" in kept.output
    closed = runner.invoke(cli, add_args(other, keyset, "--listed-deployments-only"))
    assert closed.exit_code == 2  # closing needs a deployment to list
    closed = runner.invoke(
        cli, add_args(other, keyset, "--deployment-id", "d-2", "--listed-deployments-only")
    )
    assert closed.exit_code == 0, closed.output
    assert closed.output.rstrip().endswith("deployments: d-2")
    with app.app_context():
        policies = db.session.execute(
            select(Platform.client_id, Platform.any_deployment).order_by(Platform.id)
        ).all()
    assert [tuple(p) for p in policies] == [("tool-client-1", False), ("tool-client-2", False)]


HOSTILE = [
    "bad signature",
    "alg none",
    "signed by another key",
    "wrong aud",
    "nonce never issued",
    "replayed nonce",
    "expired",
    "wrong message type",
    "foreign target link",
    "no course role",
    "deployment id too long",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_only_a_launch_that_passed_every_check_records_its_deployment(
    app: Flask,
    client: FlaskClient,
    platform: LtiPlatform,
    other_key: rsa.RSAPrivateKey,
    case: str,
) -> None:
    open_policy(app)
    auth = platform.login(client, BASE)
    body = platform.claims(auth["nonce"], BASE, **{claims.DEPLOYMENT_ID: NEW})
    changes: dict[str, Any] = {
        "wrong aud": {"aud": "someone-else"},
        "nonce never issued": {"nonce": "never-issued"},
        "expired": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        "wrong message type": {claims.MESSAGE_TYPE: "LtiSubmissionReviewRequest"},
        "foreign target link": {claims.TARGET_LINK_URI: "https://evil.example.com/launch"},
        "no course role": {
            claims.ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"]
        },
        "deployment id too long": {claims.DEPLOYMENT_ID: "d" * 256},
    }
    token = platform.sign({**body, **changes.get(case, {})})
    if case == "bad signature":
        token = tampered(token)
    elif case == "alg none":
        token = unsigned(body, platform.kid)
    elif case == "signed by another key":
        token = jwt.encode(body, other_key, algorithm="RS256", headers={"kid": platform.kid})
    elif case == "replayed nonce":
        # The nonce was used by a launch of a known deployment; its state is used again.
        first = platform.sign(platform.claims(auth["nonce"], BASE))
        replayed = client.post("/lti/launch", data={"id_token": first, "state": auth["state"]})
        assert replayed.status_code == 303
        client.set_cookie(f"lti1p3-{auth['state']}", auth["state"], domain="tool.test")

    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    assert response.status_code in (400, 403), (case, response.status_code)
    assert [d for d, _ in deployments(app)] == ["deployment-1"]


def test_two_first_launches_of_a_new_deployment_at_once_both_succeed(
    app: Flask, platform: LtiPlatform
) -> None:
    open_policy(app)
    # The platform's key set is cached by an earlier launch (two first launches of a platform
    # race on that cache: a separate matter).
    assert platform.launch(app.test_client(), BASE).status_code == 303
    clients = [app.test_client() for _ in range(2)]
    logins = [platform.login(c, BASE) for c in clients]
    barrier = threading.Barrier(2, timeout=20)
    statuses: list[int] = []

    def launch(index: int) -> None:
        auth = logins[index]
        body = platform.claims(auth["nonce"], BASE, sub=f"learner-{index}")
        token = platform.sign({**body, claims.DEPLOYMENT_ID: NEW})
        barrier.wait()
        response = clients[index].post(
            "/lti/launch", data={"id_token": token, "state": auth["state"]}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [303, 303]
    assert deployments(app) == [("deployment-1", False), (NEW, True)]


def test_recording_a_deployment_another_launch_just_stored_finds_its_row(
    app: Flask, platform: LtiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race's losing side: the row was not there when looked up, and the insert then hits
    the unique constraint; the transaction goes on with the other launch's row."""
    with app.app_context():
        stored = db.session.scalar(select(Platform))
        assert stored is not None
        db.session.add(Deployment(platform_id=stored.id, deployment_id=NEW, from_launch=True))
        db.session.commit()
        real = registrations.find_deployment
        looked_up: list[str] = []

        def not_yet_there(session: Any, platform: Platform, deployment_id: str) -> Any:
            looked_up.append(deployment_id)
            return None if len(looked_up) == 1 else real(session, platform, deployment_id)

        monkeypatch.setattr(registrations, "find_deployment", not_yet_there)
        stored.name = "changed in the same transaction"

        found = registrations.record_deployment(db.session, stored, NEW)

        assert looked_up == [NEW, NEW]
        assert found.deployment_id == NEW and found.id is not None
        db.session.commit()
        assert db.session.scalar(select(Platform.name)) == "changed in the same transaction"
    assert deployments(app) == [("deployment-1", False), (NEW, True)]


@pytest.mark.parametrize("case", ["signed by another key", "nonce never issued"])
def test_a_refused_launch_records_nothing_even_before_the_rollback(
    app: Flask, platform: LtiPlatform, other_key: rsa.RSAPrivateKey, case: str
) -> None:
    """The deployment is stored only after every check passed, not stored then rolled back."""
    open_policy(app)
    body = platform.claims("never-issued", BASE, **{claims.DEPLOYMENT_ID: NEW})
    key = other_key if case == "signed by another key" else platform.key
    token = jwt.encode(body, key, algorithm="RS256", headers={"kid": platform.kid})
    form = {"id_token": token, "state": "state-1"}
    with app.test_request_context("/lti/launch", method="POST", data=form):
        launch = ToolMessageLaunch(
            FlaskRequest(), current.tool_conf(), current.store(), current.http(), True
        )
        with pytest.raises(LtiException, match="Invalid id_token|Invalid nonce"):
            launch.get_launch_data()
        assert not [row for row in db.session.new if isinstance(row, Deployment)]
        assert db.session.scalar(select(func.count()).select_from(Deployment)) == 1
