"""`lms-plugin xapi deliver/status/export/replay/lrs`: the forms DESIGN.md fixes."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select, update

from lms_plugin.database import db
from lms_plugin.worker import BackgroundDelivery
from tests.courses import Course, placed_course
from tests.lti.platform import KeySetServer, LtiPlatform
from tests.xapi.conftest import lrs_config, outbox
from tests.xapi.lrs_tools import Ralph
from xapi.models import LrsEndpoint, OutboxStatement


def judge_a_few(course: Course) -> None:
    learner = course.learner_ids[0]
    for verdict in ("not_yet", "met"):
        response = course.staff.judge((learner, course.statements["emerging"][0], verdict))
        assert response.status_code == 201


def test_without_an_lrs_statements_stay_queued_visible_and_exportable(
    app: Flask, course: Course
) -> None:
    judge_a_few(course)
    runner = app.test_cli_runner()
    status = json.loads(runner.invoke(args=["xapi", "status", "--json"]).output)
    assert set(status) == {"queued", "delivered", "dead", "oldest_queued_age_s"}
    assert (status["queued"], status["delivered"], status["dead"]) == (3, 0, 0)
    assert status["oldest_queued_age_s"] >= 0

    result = runner.invoke(args=["xapi", "deliver", "--drain", "--timeout", "0.3"])
    assert result.exit_code == 3
    assert "3 statement(s) still queued" in result.output
    assert "no LRS configured" in result.output

    human = runner.invoke(args=["xapi", "status"]).output
    assert "queued 3" in human and "No LRS configured" in human

    export = runner.invoke(args=["xapi", "export"])
    assert export.exit_code == 0, (export.output, export.exception)
    exported = export.stdout_bytes
    rows = outbox(app)
    assert exported == b"".join(row.payload.encode("utf-8") + b"\n" for row in rows)
    assert runner.invoke(args=["xapi", "export", "--state", "delivered"]).stdout_bytes == b""
    assert runner.invoke(args=["xapi", "export", "--state", "bogus"]).exit_code == 2


def test_replay_queues_dead_statements_again(app: Flask, course: Course) -> None:
    judge_a_few(course)
    first, *_ = outbox(app)
    with app.app_context():
        db.session.execute(
            update(OutboxStatement).values(state="dead", attempts=3, last_error="HTTP 400: bad")
        )
        db.session.commit()
    runner = app.test_cli_runner()
    assert "dead 3" in runner.invoke(args=["xapi", "status"]).output

    result = runner.invoke(args=["xapi", "replay", "--id", first.statement_id])
    assert result.exit_code == 0 and "1 statement(s) queued again" in result.output
    again = runner.invoke(args=["xapi", "replay", "--id", first.statement_id])
    assert again.exit_code == 1 and "no dead statement" in again.output
    assert "2 statement(s)" in runner.invoke(args=["xapi", "replay"]).output
    assert {(r.state, r.attempts) for r in outbox(app)} == {("queued", 0)}


def test_lrs_set_stores_the_password_encrypted_and_delivery_uses_it(
    app: Flask, platform: LtiPlatform, course: Course, ralph: Ralph
) -> None:
    judge_a_few(course)
    runner = app.test_cli_runner()
    args = ["xapi", "lrs", "set", "--issuer", platform.issuer]
    args += ["--endpoint", ralph.endpoint, "--username", ralph.username]
    result = runner.invoke(args=args, input=ralph.password + "\n")
    assert result.exit_code == 0, result.output
    assert ralph.password not in result.output
    with app.app_context():
        [row] = db.session.scalars(select(LrsEndpoint)).all()
        assert row.deployment_id is None and row.endpoint == ralph.endpoint
        assert ralph.password.encode() not in row.password_encrypted
    listed = runner.invoke(args=["xapi", "lrs", "list"]).output
    assert ralph.endpoint in listed and ralph.password not in listed

    result = runner.invoke(args=["xapi", "deliver", "--drain", "--timeout", "20"])
    assert result.exit_code == 0, result.output
    assert "Nothing queued." in result.output
    assert all(ralph.stored_ids()[r.statement_id] == 1 for r in outbox(app))

    by_deployment = runner.invoke(args=[*args, "--deployment-id", "nope"], input="pw\n")
    assert by_deployment.exit_code == 1 and "no deployment nope" in by_deployment.output
    no_password = runner.invoke(args=args, input="")
    assert no_password.exit_code == 1 and "password" in no_password.output
    bad_url = runner.invoke(args=[*args[:5], "ftp://x", "--username", "u"], input="pw\n")
    assert bad_url.exit_code == 2


def test_lrs_set_for_one_deployment(app: Flask, platform: LtiPlatform) -> None:
    runner = app.test_cli_runner()
    args = ["xapi", "lrs", "set", "--issuer", platform.issuer, "--deployment-id"]
    args += [platform.deployment_id, "--endpoint", "https://lrs.example/xAPI/", "--username", "u"]
    for password in ("first", "second"):
        assert runner.invoke(args=args, input=password + "\n").exit_code == 0
    with app.app_context():
        [row] = db.session.scalars(select(LrsEndpoint)).all()
        assert row.deployment_id is not None
        box = app.extensions["secret_box"]
        assert box.decrypt(row.password_encrypted) == b"second"


def test_refused_credentials_stop_the_worker_and_keep_statements_queued(
    make_app: Callable[..., Flask], platform: LtiPlatform, version_id: int, ralph: Ralph
) -> None:
    app = make_app(**{**lrs_config(ralph.endpoint, ralph), "XAPI_LRS_PASSWORD": "wrong-one"})
    platform.register(app)
    judge_a_few(placed_course(app, platform, version_id, learners=1))
    result = app.test_cli_runner().invoke(args=["xapi", "deliver", "--drain", "--timeout", "20"])
    assert result.exit_code == 1
    assert "refused the tool's credentials" in result.output and "HTTP 401" in result.output
    assert "wrong-one" not in result.output
    assert {r.state for r in outbox(app)} == {"queued"}


def test_the_demo_thread_delivers_xapi_too(
    make_app: Callable[..., Flask], platform: LtiPlatform, version_id: int, ralph: Ralph
) -> None:
    app = make_app(**lrs_config(ralph.endpoint, ralph))
    platform.register(app)
    judge_a_few(placed_course(app, platform, version_id, learners=1))
    thread = BackgroundDelivery(app, interval=0.05)
    thread.start()
    try:
        for _ in range(200):
            if {r.state for r in outbox(app)} == {"delivered"}:
                break
            thread.stopped.wait(0.05)
    finally:
        thread.stop()
        thread.join(timeout=10)
    assert {r.state for r in outbox(app)} == {"delivered"}


def test_lrs_list_says_when_none_is_set(app: Flask) -> None:
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["xapi", "lrs", "list"])
    assert empty.exit_code == 0, empty.output
    assert "No LRS is set: statements stay queued." in empty.output
    assert "lms-plugin xapi lrs set" in empty.output and "XAPI_LRS_ENDPOINT" in empty.output
    listed = runner.invoke(args=["xapi", "lrs", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output) == []


def test_lrs_list_prints_a_table_and_json_never_a_password(
    make_app: Callable[..., Flask], platform_key: rsa.RSAPrivateKey, keyset: KeySetServer
) -> None:
    app = make_app(
        XAPI_LRS_ENDPOINT="https://default.example/xAPI/",
        XAPI_LRS_USERNAME="tool",
        XAPI_LRS_PASSWORD="default-secret",
    )
    platform = LtiPlatform(platform_key, keyset)
    platform.register(app)
    runner = app.test_cli_runner()
    args = ["xapi", "lrs", "set", "--issuer", platform.issuer, "--deployment-id"]
    args += [platform.deployment_id, "--endpoint", "https://lrs.example/xAPI/", "--username", "u"]
    assert runner.invoke(args=args, input="platform-secret\n").exit_code == 0

    listed = json.loads(runner.invoke(args=["xapi", "lrs", "list", "--json"]).output)
    assert listed == [
        {
            "scope": "default",
            "issuer": None,
            "client_id": None,
            "deployment_id": None,
            "endpoint": "https://default.example/xAPI/",
            "username": "tool",
        },
        {
            "scope": "deployment",
            "issuer": platform.issuer,
            "client_id": platform.client_id,
            "deployment_id": platform.deployment_id,
            "endpoint": "https://lrs.example/xAPI/",
            "username": "u",
        },
    ]
    human = runner.invoke(args=["xapi", "lrs", "list"]).output
    lines = human.splitlines()
    assert lines[0].split()[:2] == ["FOR", "ISSUER"] and "ENDPOINT" in lines[0]
    assert "XAPI_LRS_ENDPOINT" in lines[2] and "https://lrs.example/xAPI/" in lines[3]
    assert "secret" not in human
