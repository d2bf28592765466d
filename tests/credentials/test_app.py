"""Credentials issued by the app (SQLite and PostgreSQL): on achievement, revoked on withdrawal,
re-issued on re-achievement, revoked by staff; public pages, did:web, status lists, the verify page
and API, the CLI; and the DCC JavaScript verifier agreeing on what the app issued."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin import worker
from lms_plugin.commands import cli
from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from tests.courses import Course, placed_course
from tests.credentials.conftest import dcc_verify
from tests.lti.platform import LtiPlatform
from xapi.models import OutboxStatement


def sign_queued(app: Flask) -> None:
    """The worker's pass that signs queued credential requests."""
    with app.app_context():
        worker.issue_credentials_once()


def achieve(app: Flask, course: Course, learner_index: int = 0) -> dict[str, Any]:
    learner = course.learner_ids[learner_index]
    answer = course.staff.judge(*[(learner, s, "met") for s in course.statements["emerging"]])
    assert answer.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]
    progress = course.learners[learner_index].get("/api/v1/progress").json
    assert progress["credentials"] == [
        {
            "id": None,
            "level": "emerging",
            "level_label": "Emerging",
            "url": None,
            "status": "pending",
        }
    ]
    sign_queued(app)
    [credential] = course.learners[learner_index].get("/api/v1/progress").json["credentials"]
    return credential


def document(client: FlaskClient, url: str) -> dict[str, Any]:
    response = client.get(url, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    return json.loads(response.get_data(as_text=True))


def verify(client: FlaskClient, credential: Any) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json=credential)
    assert response.status_code == 200, response.json
    return response.json


def test_achieving_a_level_issues_a_verifiable_credential(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    listed = achieve(app, course)
    assert listed["level"] == "emerging" and listed["status"] == "active"
    signed = document(client, listed["url"])

    assert signed["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert signed["id"] == listed["url"]
    assert signed["issuer"]["id"].startswith("did:key:z6Mk")  # no public HTTPS host here
    assert (
        isinstance(signed["proof"], list) and signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    )
    subject = signed["credentialSubject"]
    assert "Learner 0" not in json.dumps(subject)  # no name or e-mail in clear
    assert (
        len([a for a in subject["achievement"]["alignment"] if a["targetType"] != "ext:Occupation"])
        == 10
    )
    assert signed["credentialStatus"]["statusListCredential"].startswith(
        "http://tool.test/status-lists/"
    )
    assert client.get(listed["url"] + ".json").get_data(as_text=True) == json.dumps(
        signed, ensure_ascii=False, separators=(",", ":")
    )
    result = verify(client, signed)
    assert result["verified"] is True, result
    page = client.get(listed["url"]).get_data(as_text=True)
    assert "✓ Verified" in page and "<svg" in page and "linkedin.com/profile/add" in page
    with app.app_context():
        verbs = [
            json.loads(row.payload)["verb"]["id"]
            for row in db.session.scalars(select(OutboxStatement))
        ]
    assert any(verb.endswith("/earned") for verb in verbs), verbs


def test_withdrawal_revokes_and_re_achievement_issues_a_new_credential(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    first = achieve(app, course)
    learner = course.learner_ids[0]
    statement = course.statements["emerging"][4]
    course.staff.judge((learner, statement, "not_yet"))

    revoked = document(client, first["url"])
    result = verify(client, revoked)
    assert result["verified"] is False
    assert any("revoked" in error for error in result["errors"]), result
    assert "withdrawn" in client.get(first["url"]).get_data(as_text=True)

    course.staff.judge((learner, statement, "met"))
    sign_queued(app)
    credentials = course.learners[0].get("/api/v1/progress").json["credentials"]
    assert [c["status"] for c in credentials] == ["active", "revoked"]
    assert verify(client, document(client, credentials[0]["url"]))["verified"] is True


def test_staff_revoke_with_a_reason_only_in_their_own_course(
    app: Flask, client: FlaskClient, platform: LtiPlatform, course: Course
) -> None:
    listed = achieve(app, course)
    credential_id = listed["id"]
    other = placed_course(app, platform, course.version_id, context_id="course-2", learners=1)
    for session in (course.learners[0], other.staff):
        denied = session.client.post(
            f"/launch/{session.launch_id}/credentials/{credential_id}/revoke",
            data={"csrf_token": session.csrf, "reason": "no"},
        )
        assert denied.status_code == 403
    staff = course.staff
    no_reason = staff.client.post(
        f"/launch/{staff.launch_id}/credentials/{credential_id}/revoke",
        data={"csrf_token": staff.csrf, "reason": " "},
    )
    assert no_reason.status_code == 400
    assert verify(client, document(client, listed["url"]))["verified"] is True

    done = staff.client.post(
        f"/launch/{staff.launch_id}/credentials/{credential_id}/revoke",
        data={"csrf_token": staff.csrf, "reason": "Issued to the wrong learner"},
    )
    assert done.status_code == 303
    assert verify(client, document(client, listed["url"]))["verified"] is False
    assert "Issued to the wrong learner" in client.get(listed["url"]).get_data(as_text=True)


def test_did_web_on_https_with_key_rotation(
    make_app: Callable[..., Flask], platform: LtiPlatform
) -> None:
    https = make_app(BASE_URL="https://tool.example.edu", ISSUER_NAME="Example College")
    client = https.test_client()
    runner = https.test_cli_runner()
    with https.app_context():
        from lms_plugin.credentials import issuance

        settings = https.extensions["issuer_settings"]
        before = issuance.did_document(db.session, settings)
        identity = issuance.signing_identity(db.session, settings)
        db.session.commit()
    assert identity.did == "did:web:tool.example.edu" == before["id"]
    assert runner.invoke(cli, ["keys", "rotate", "--purpose", "credentials"]).exit_code == 0
    published = client.get("/.well-known/did.json", base_url="https://tool.example.edu").json
    assert len(published["assertionMethod"]) == 2
    assert identity.verification_method in published["assertionMethod"]
    assert all(m["type"] == "Multikey" for m in published["verificationMethod"])


def dcc_case(credential: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
    now = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    [result] = dcc_verify(
        [{"name": "app", "credential": credential, "documents": documents, "now": now}]
    )["results"]
    return result


def test_a_level_withdrawn_before_signing_is_never_issued(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    course.staff.judge(*[(learner, s, "met") for s in emerging])
    course.staff.judge((learner, emerging[0], "not_yet"))
    sign_queued(app)
    assert course.learners[0].get("/api/v1/progress").json["credentials"] == []
    with app.app_context():
        assert db.session.scalar(select(Credential)) is None


def test_the_dcc_verifier_agrees_on_what_the_app_issued(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    listed = achieve(app, course)
    signed = document(client, listed["url"])
    status_url = signed["credentialStatus"]["statusListCredential"]
    documents = {status_url: client.get(status_url).json}
    valid = dcc_case(signed, documents)
    assert valid["verified"] is True, valid

    course.staff.judge((course.learner_ids[0], course.statements["emerging"][0], "not_yet"))
    documents = {status_url: client.get(status_url).json}
    revoked = dcc_case(signed, documents)
    assert revoked["verified"] is False
    assert verify(client, signed)["verified"] is False


def test_verify_api_and_page_with_bad_input(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    listed = achieve(app, course)
    signed = document(client, listed["url"])
    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["achievement"]["name"] += "!"
    assert verify(client, tampered)["verified"] is False
    not_json = client.post("/api/v1/verify", data=b"\xff not json", content_type="application/json")
    assert not_json.status_code == 400 and not_json.json["verified"] is False
    huge = client.post("/api/v1/verify", data=b"[" * (2 * 1024 * 1024))
    assert huge.status_code == 413

    page = client.get("/verify")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    pasted = client.post("/verify", data={"csrf_token": token, "credential": json.dumps(signed)})
    assert pasted.status_code == 200 and "✓ Verified" in pasted.get_data(as_text=True)
    by_url = client.post("/verify", data={"csrf_token": token, "url": listed["url"]})
    assert "✓ Verified" in by_url.get_data(as_text=True)
    assert client.post("/verify", data={"credential": json.dumps(signed)}).status_code == 403


def test_cli_verify_exit_codes(
    app: Flask, client: FlaskClient, course: Course, tmp_path: Path
) -> None:
    listed = achieve(app, course)
    signed = document(client, listed["url"])
    runner = app.test_cli_runner()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(signed))
    bad = tmp_path / "bad.json"
    signed["credentialSubject"]["achievement"]["description"] = "altered"
    bad.write_text(json.dumps(signed))
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    results = {}
    for path, code in ((good, 0), (bad, 1), (junk, 2)):
        result = runner.invoke(cli, ["credentials", "verify", str(path)])
        assert result.exit_code == code, result.output
        results[path.name] = json.loads(result.output)
    assert results["good.json"]["verified"] is True and results["bad.json"]["verified"] is False
    assert set(results["junk.txt"]) == {"verified", "checks", "errors", "credential"}
    assert results["junk.txt"]["credential"] is None


def test_cli_revoke_and_issue(app: Flask, client: FlaskClient, course: Course) -> None:
    listed = achieve(app, course)
    runner = app.test_cli_runner()
    assert (
        runner.invoke(cli, ["credentials", "revoke", listed["id"], "--reason", "test"]).exit_code
        == 0
    )
    assert runner.invoke(cli, ["credentials", "revoke", "nope", "--reason", "x"]).exit_code == 1
    with app.app_context():
        achievement_id = db.session.get(Credential, listed["id"]).achievement_id  # type: ignore[union-attr]
    issued = runner.invoke(
        cli,
        [
            "credentials",
            "issue",
            "--achievement",
            str(achievement_id),
            "--did",
            "did:example:learner1",
        ],
    )
    assert issued.exit_code == 0, issued.output
    new = document(client, issued.output.strip())
    assert new["credentialSubject"]["id"] == "did:example:learner1"
    assert verify(client, new)["verified"] is True


@pytest.mark.parametrize(
    "path", ["/credentials/unknown", "/credentials/unknown.json", "/status-lists/unknown"]
)
def test_unknown_ids_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_staff_see_and_revoke_credentials_on_the_grid_page(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    listed = achieve(app, course)
    page = course.staff.client.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)
    assert "Credentials issued in this activity" in page
    assert f"/credentials/{listed['id']}/revoke" in page and "Learner 0" in page
