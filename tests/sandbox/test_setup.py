"""Setting the sandbox up: idempotent, registered with the tool, key encrypted, lazy."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.lti.models import Deployment, Platform
from lms_plugin.sandbox.models import SandboxCourse, SandboxKey, SandboxMembership, SandboxUser
from lms_plugin.sandbox.setup import ensure_sandbox
from tests.sandbox.helpers import BASE


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (
            SandboxKey,
            SandboxCourse,
            SandboxUser,
            SandboxMembership,
            Platform,
            Deployment,
        )
    }


def test_ensure_sandbox_is_idempotent_and_registers_the_platform(sandbox: Flask) -> None:
    with sandbox.app_context():
        before = counts()
        ensure_sandbox(db.session, BASE)
        db.session.commit()
        assert counts() == before
        assert before["SandboxKey"] == 1
        assert before["SandboxCourse"] == 1
        assert before["SandboxUser"] >= 6

        platform = db.session.scalar(select(Platform))
        assert platform is not None
        assert platform.issuer == f"{BASE}/sandbox"
        assert platform.client_id == "sandbox-tool"
        assert platform.auth_login_url == f"{BASE}/sandbox/auth"
        assert platform.auth_token_url == f"{BASE}/sandbox/token"
        assert platform.jwks_url == f"{BASE}/sandbox/jwks"
        assert platform.name == "Sandbox LMS"
        assert [d.deployment_id for d in platform.deployments] == ["sandbox-deployment-1"]

        roles = db.session.execute(
            select(SandboxUser.name, SandboxMembership.role).join(
                SandboxMembership, SandboxMembership.user_id == SandboxUser.id
            )
        ).all()
        by_role: dict[str, list[str]] = {}
        for name, role in roles:
            by_role.setdefault(role, []).append(name)
        assert by_role["Instructor"] == ["Ada Lovelace"]
        assert len(by_role["TeachingAssistant"]) == 1
        assert {"Chloé Dubois", "Dmitri Ivanov", "Bea Wong", "Sam O'Brien"} <= set(
            by_role["Learner"]
        )


def test_private_key_is_stored_encrypted(sandbox: Flask) -> None:
    with sandbox.app_context():
        key = db.session.scalar(select(SandboxKey))
        assert key is not None
        assert b"PRIVATE KEY" not in key.private_key_encrypted
        assert set(key.public_jwk) == {"kty", "kid", "alg", "use", "n", "e"}
        assert "d" not in key.public_jwk


def test_jwks_publishes_public_keys_only(client: FlaskClient) -> None:
    response = client.get("/sandbox/jwks")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    (key,) = response.json["keys"]  # type: ignore[index]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert key["kid"] and key["n"] and key["e"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_first_visit_sets_the_sandbox_up(sandbox_app: Flask) -> None:
    client = sandbox_app.test_client()
    page = client.get("/sandbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SANDBOX" in html
    assert "Sandbox Course 101" in html
    assert "Sam O&#39;Brien" in html
    assert "Chloé Dubois" in html
    assert "Add content from the tool" in html
    with sandbox_app.app_context():
        assert counts()["Platform"] == 1
        assert counts()["SandboxKey"] == 1
    assert client.get("/sandbox").status_code == 200
    with sandbox_app.app_context():
        assert counts()["SandboxKey"] == 1


def test_jwks_sets_the_sandbox_up_too(sandbox_app: Flask) -> None:
    response = sandbox_app.test_client().get("/sandbox/jwks")
    assert response.status_code == 200
    assert len(response.json["keys"]) == 1  # type: ignore[index]


def test_learners_cannot_add_content(client: FlaskClient) -> None:
    html = client.get("/sandbox?as=sandbox-user-bea").get_data(as_text=True)
    assert "You are <strong>Bea Wong</strong>, learner" in html
    assert "Add content from the tool</button>" not in html


def test_sandbox_is_absent_when_disabled(app: Flask) -> None:
    assert app.test_client().get("/sandbox").status_code == 404
