"""What a verification says the credential is (`credential` in `POST /api/v1/verify` and the
CLI's answer): the achievement, level, framework, statements, issuer and how far it is trusted,
earner, dates and status, read from the document even when it does not verify, and never a 500
on odd shapes (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from lms_plugin.assessment.openapi import build_spec
from lms_plugin.commands import cli
from lms_plugin.credentials import dids, facts, signing
from lms_plugin.credentials.builder import xsd_datetime
from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from tests.courses import Course
from tests.credentials.conftest import FRAMEWORK, OCCUPATION, IssuerWorld, level_of
from tests.credentials.test_app import achieve, document

FACT_KEYS = {"name", "achievement", "issuer", "earner", "issued", "expires", "status"}


def verify(client: FlaskClient, credential: Any) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json=credential)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def issued(app: Flask, client: FlaskClient, course: Course) -> tuple[str, dict[str, Any]]:
    listed = achieve(app, course)
    return listed["id"], document(client, listed["url"])


def test_our_credential_shows_every_fact(app: Flask, client: FlaskClient, course: Course) -> None:
    credential_id, signed = issued(app, client, course)
    grid = course.staff.get("/api/v1/grid").json
    [emerging] = [level for level in grid["levels"] if level["key"] == "emerging"]

    answer = verify(client, signed)

    assert answer["verified"] is True
    shown = answer["credential"]
    assert set(shown) == FACT_KEYS
    achievement = shown["achievement"]
    assert achievement["id"] == signed["credentialSubject"]["achievement"]["id"]
    assert achievement["level"] == emerging["label"] == "Emerging"
    assert achievement["name"] == shown["name"] == f"{grid['framework']['title']}: Emerging"
    assert achievement["framework"] == grid["framework"]["title"]
    assert achievement["version"] == grid["framework"]["version"]
    assert [s["text"] for s in achievement["statements"]] == [
        s["text"] for s in emerging["statements"]
    ]
    assert all(s["url"].startswith("http://tool.test/") for s in achievement["statements"])
    assert shown["issuer"]["id"] == signed["issuer"]["id"]
    assert shown["issuer"]["name"] == signed["issuer"]["name"] and shown["issuer"]["name"]
    assert shown["issuer"]["url"] == signed["issuer"].get("url")
    assert shown["issuer"]["trust"] == "self" and shown["issuer"]["registry"] is None
    assert shown["earner"] == {"name": None}  # our credentials carry no name unless asked
    with app.app_context():
        stored = db.session.get(Credential, credential_id)
        assert stored is not None
        assert shown["issued"] == xsd_datetime(stored.issued_at) == signed["validFrom"]
    assert shown["expires"] is None
    assert shown["status"] == {"revoked": False, "reason": None, "revoked_at": None}


def test_a_revoked_credential_shows_the_reason_and_date(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    credential_id, signed = issued(app, client, course)
    staff = course.staff
    done = staff.client.post(
        f"/launch/{staff.launch_id}/credentials/{credential_id}/revoke",
        data={"csrf_token": staff.csrf, "reason": "Issued to the wrong learner"},
    )
    assert done.status_code == 303

    answer = verify(client, signed)

    assert answer["verified"] is False
    with app.app_context():
        stored = db.session.get(Credential, credential_id)
        assert stored is not None and stored.revoked_at is not None
        revoked_at = xsd_datetime(stored.revoked_at)
    assert answer["credential"]["status"] == {
        "revoked": True,
        "reason": "Issued to the wrong learner",
        "revoked_at": revoked_at,
    }
    assert answer["credential"]["achievement"]["level"] == "Emerging"


def test_an_altered_credential_still_shows_what_it_says(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    _, signed = issued(app, client, course)
    altered = copy.deepcopy(signed)
    altered["credentialSubject"]["achievement"]["name"] = "Chief Justice"
    altered["credentialSubject"]["name"] = "Somebody Else"

    answer = verify(client, altered)

    assert answer["verified"] is False
    signature = next(c for c in answer["checks"] if c["check"] == "signature")
    assert signature["passed"] is False
    shown = answer["credential"]
    assert shown["achievement"]["name"] == "Chief Justice"  # what the employer was handed
    assert shown["earner"] == {"name": "Somebody Else"}
    assert shown["achievement"]["level"] == "Emerging"
    assert shown["issuer"]["trust"] == "self"
    assert shown["status"]["revoked"] is False


def foreign(world: IssuerWorld) -> dict[str, Any]:
    """A credential of another issuer (a did:key, so it verifies offline), naming its earner."""
    unsigned, _ = world.credential(
        issuer=dids.did_key(world.rogue), level=level_of("proficient", 2), with_status=False
    )
    unsigned["credentialSubject"]["name"] = "Ada Lovelace"
    return signing.sign_credential(
        unsigned, world.rogue, dids.did_key_verification_method(world.rogue)
    )


def test_another_issuers_credential_is_shown_with_unknown_trust(
    client: FlaskClient, world: IssuerWorld
) -> None:
    signed = foreign(world)

    answer = verify(client, signed)

    assert answer["verified"] is True, answer
    shown = answer["credential"]
    assert shown["issuer"] == {
        "id": dids.did_key(world.rogue),
        "name": "Example College",
        "url": "https://example.edu",
        "trust": "unknown",
        "registry": None,
    }
    assert shown["earner"] == {"name": "Ada Lovelace"}
    assert shown["achievement"]["level"] == "Proficient"
    assert shown["achievement"]["framework"] == FRAMEWORK.title
    assert shown["achievement"]["version"] == FRAMEWORK.version
    assert shown["achievement"]["statements"] == [
        {"text": s.text, "url": s.url} for s in level_of("proficient", 2).statements
    ]
    assert OCCUPATION.title in shown["name"]
    assert shown["status"] == {"revoked": False, "reason": None, "revoked_at": None}


def hostile_shapes(world: IssuerWorld) -> list[dict[str, Any]]:
    signed = foreign(world)
    subject = signed["credentialSubject"]
    achievement = subject["achievement"]
    nul = "did:web:tool.test:issuers:a\u0000b"  # a NUL: PostgreSQL refuses it in any query
    shapes = []
    for change in (
        {"credentialSubject": {**subject, "achievement": [achievement, {"id": "urn:x:1"}]}},
        {"credentialSubject": {**subject, "achievement": "urn:x", "name": 7, "result": "x"}},
        {"credentialSubject": [{**subject, "achievement": {**achievement, "name": 42}}]},
        {"credentialSubject": {**subject, "achievement": {**achievement, "alignment": [1, None]}}},
        {
            "credentialSubject": {
                **subject,
                "achievement": {
                    **achievement,
                    "alignment": {"targetName": ["a"], "targetFramework": 3},
                    "resultDescription": [{"rubricCriterionLevel": "x"}, 5],
                    "version": {"v": 1},
                },
                "name": None,
                "identifier": [{"identityType": "name", "hashed": "no", "identityHash": "x"}],
            }
        },
        {"issuer": "did:web:example.org", "name": 42, "validFrom": 5, "validUntil": "tomorrow"},
        {"issuer": {"id": ["did:web:x"], "name": {"en": "X"}, "url": 3}},
        {
            "issuer": nul,
            "id": "http://tool.test/credentials/\u0000",
            "proof": [{**signed["proof"][0], "verificationMethod": f"{nul}#key-1"}],
        },
        {"issuer": {"id": "did:web:tool.test:issuers:nobody"}, "credentialSubject": None},
        {"validFrom": "0001-01-01T00:00:00+23:59", "credentialSubject": "did:example:1"},
    ):
        shapes.append({**copy.deepcopy(signed), **change})
    return shapes


def answer_schema() -> dict[str, Any]:
    """The Verification schema of /api/v1/openapi.json, its references resolvable."""
    spec = build_spec("http://tool.test", "session")
    schemas = spec["components"]["schemas"]
    return {**schemas["Verification"], "components": {"schemas": schemas}}


def test_hostile_shapes_read_as_nulls_never_a_500(client: FlaskClient, world: IssuerWorld) -> None:
    validator = jsonschema.Draft202012Validator(answer_schema())
    shapes = hostile_shapes(world)
    answers = [verify(client, shape) for shape in shapes]
    for shape, answer in zip(shapes, answers, strict=True):
        validator.validate(answer)  # every fact of its documented type: text, or null
        assert answer["verified"] is False, shape
        assert answer["credential"]["issuer"]["trust"] == "unknown", shape

    listed, named, many, loose, props, string_issuer, odd_issuer, nul, nobody, early = [
        a["credential"] for a in answers
    ]
    assert listed["achievement"] == {
        "id": None,
        "name": None,
        "level": None,
        "framework": None,
        "version": None,
        "statements": [],
    }
    assert listed["earner"] == {"name": "Ada Lovelace"} and listed["issuer"]["name"]
    assert named["earner"]["name"] is None and named["achievement"]["id"] is None
    assert many["achievement"]["name"] is None and many["achievement"]["level"] == "Proficient"
    assert loose["achievement"]["statements"] == []
    assert props["achievement"]["statements"] == [{"text": None, "url": None}]
    assert props["achievement"]["framework"] is props["achievement"]["version"] is None
    assert props["achievement"]["level"] is None and props["earner"]["name"] is None
    assert string_issuer["issuer"] == {
        "id": "did:web:example.org",
        "name": None,
        "url": None,
        "trust": "unknown",
        "registry": None,
    }
    assert string_issuer["name"] is string_issuer["issued"] is string_issuer["expires"] is None
    assert odd_issuer["issuer"]["id"] is odd_issuer["issuer"]["name"] is None
    assert odd_issuer["issuer"]["url"] is None
    assert nul["issuer"]["id"] == "did:web:tool.test:issuers:a\u0000b"
    assert nul["status"] == {"revoked": False, "reason": None, "revoked_at": None}  # no status
    assert answers[7]["errors"] == [
        f"The signing key cannot be trusted: the DID document of {nul['issuer']['id']} could not"
        " be found."
    ]
    assert nobody["earner"]["name"] is None and nobody["achievement"]["statements"] == []
    assert early["issued"] is None and early["achievement"]["name"] is None
    # A list of one object is that object in JSON-LD: the same signed content, the same facts.
    one = foreign(world)
    one["credentialSubject"]["achievement"] = [one["credentialSubject"]["achievement"]]
    answer = verify(client, one)
    assert answer["verified"] is True and answer == verify(client, foreign(world))
    junk = client.post("/api/v1/verify", data=b"[1, 2]", content_type="application/json")
    assert junk.status_code == 400 and junk.json["credential"] is None


def test_facts_of_a_bare_object_are_all_null() -> None:
    assert facts.describe({}) == {
        "name": None,
        "achievement": {
            "id": None,
            "name": None,
            "level": None,
            "framework": None,
            "version": None,
            "statements": [],
        },
        "issuer": {"id": None, "name": None, "url": None, "trust": "unknown", "registry": None},
        "earner": {"name": None},
        "issued": None,
        "expires": None,
        "status": {"revoked": None, "reason": None, "revoked_at": None},
    }


def test_an_unhashed_name_identity_is_the_earners_name() -> None:
    named = {
        "credentialSubject": {
            "identifier": [
                {"identityType": "emailAddress", "hashed": True, "identityHash": "sha256$00"},
                {"identityType": "name", "hashed": False, "identityHash": "Grace Hopper"},
            ]
        }
    }
    assert facts.describe(named)["earner"] == {"name": "Grace Hopper"}
    named["credentialSubject"]["identifier"][1]["hashed"] = True
    assert facts.describe(named)["earner"] == {"name": None}


@pytest.mark.parametrize("kind", ["ours", "foreign"])
def test_the_cli_prints_the_same_json_as_the_api(
    app: Flask,
    client: FlaskClient,
    course: Course,
    world: IssuerWorld,
    tmp_path: Path,
    kind: str,
) -> None:
    signed = issued(app, client, course)[1] if kind == "ours" else foreign(world)
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(signed))

    printed = app.test_cli_runner().invoke(cli, ["credentials", "verify", str(path)])

    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == verify(client, signed)
    assert json.loads(printed.output)["credential"]["issuer"]["trust"] == (
        "self" if kind == "ours" else "unknown"
    )
    path.write_text("[]")
    refused = app.test_cli_runner().invoke(cli, ["credentials", "verify", str(path)])
    assert refused.exit_code == 2 and json.loads(refused.output)["credential"] is None


def pasted(client: FlaskClient, credential: Any) -> str:
    form = client.get("/verify").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    form_data = {"csrf_token": token, "credential": json.dumps(credential)}
    answer = client.post("/verify", data=form_data)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_the_verify_page_shows_what_the_credential_says(
    app: Flask, client: FlaskClient, course: Course, world: IssuerWorld
) -> None:
    credential_id, signed = issued(app, client, course)
    runner = app.test_cli_runner()
    revoked = runner.invoke(cli, ["credentials", "revoke", credential_id, "--reason", "Mistaken"])
    assert revoked.exit_code == 0, revoked.output

    framework = course.staff.get("/api/v1/grid").json["framework"]
    ours = pasted(client, signed)

    assert "What the credential says" in ours
    assert "<dt>Level</dt><dd>Emerging</dd>" in ours
    assert f"<dd>{escape(signed['name'])}</dd>" in ours
    assert f"<dd>{escape(framework['title'])}, version {escape(framework['version'])}</dd>" in ours
    assert escape(signed["issuer"]["name"]) in ours
    assert "This is this tool itself: it issued the credential." in ours
    assert "No name in the credential" in ours and "Never (no expiry date)" in ours
    assert re.search(r"Revoked on <time datetime=\"[^\"]+\">[^<]+</time>: Mistaken", ours)

    theirs = foreign(world)
    theirs["issuer"]["url"] = "javascript:alert(1)"
    shown = pasted(client, theirs)
    assert "Issuer unknown: not this tool, and not in any registry you trust." in shown
    assert "Issued by Example College. Not in any registry you trust." in shown
    assert "<dd>Ada Lovelace</dd>" in shown and "Not revoked" in shown
    assert 'href="javascript:' not in shown and "(javascript:alert(1))" in shown
