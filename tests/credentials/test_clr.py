"""CLR 2.0 (issue 14): one signed ClrCredential holding a learner's level credentials in force,
as issued (same ids, same bytes), with the levels' order; valid for 1EdTech's CLR schema; verified
by our verifier (the bundle's proof and each embedded credential) and by the DCC verifier; served
by `GET /api/v1/clr` and linked from the learner's page, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.commands import cli
from lms_plugin.credentials import canonical, clr, signing, verifying
from lms_plugin.credentials.builder import Issuer, Recipient
from lms_plugin.credentials.untrusted import Limits
from tests.courses import Course, placed_course
from tests.credentials.conftest import NOW, IssuerWorld, dcc_verify, level_of, our_verdict
from tests.credentials.test_app import sign_queued
from tests.credentials.test_builder import validate as validate_ob
from tests.lti.platform import LtiPlatform

SCHEMAS = Path(__file__).parent / "schemas"


def clr_schema() -> dict[str, Any]:
    """1EdTech's ClrCredential schema with the two changes CLR 2.0.1 made by moving to VC 2.0
    (see schemas/README.md): `validFrom` instead of `issuanceDate`, open status entries."""
    schema = json.loads((SCHEMAS / "clr_v2p0_clrcredential_schema_draft4.json").read_text())
    for holder in (schema, schema["$defs"]["VerifiableCredential"]):
        holder["required"] = [
            "validFrom" if name == "issuanceDate" else name for name in holder["required"]
        ]
    schema["$defs"]["CredentialStatus"]["additionalProperties"] = True
    return schema


def validate_clr(bundle: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(clr_schema()).validate(bundle)
    for embedded in bundle["credentialSubject"]["verifiableCredential"]:
        validate_ob(embedded)


def bundle_of(world: IssuerWorld, credentials: list[dict[str, Any]]) -> dict[str, Any]:
    unsigned = clr.build_clr(
        clr_id="urn:uuid:6f1c7a52-3d0e-4c1b-9a57-0b8f5e2d4c10",
        issuer=Issuer(id=world.did, name="Example College", url="https://example.edu"),
        recipient=Recipient.from_email("Learner@Example.org"),
        name="Legal Secretaries: levels achieved",
        credentials=credentials,
        valid_from=NOW,
    )
    return signing.sign_credential(unsigned, world.current, world.method())


@pytest.fixture(scope="module")
def levels(world: IssuerWorld) -> list[tuple[dict[str, Any], int]]:
    return [world.signed(level=level_of(key, 4)) for key in ("emerging", "developing", "expert")]


@pytest.fixture(scope="module")
def bundle(world: IssuerWorld, levels: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    return bundle_of(world, [signed for signed, _ in levels])


def test_the_bundle_holds_the_credentials_their_achievements_and_the_order(
    bundle: dict[str, Any], levels: list[tuple[dict[str, Any], int]]
) -> None:
    assert bundle["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert bundle["type"] == ["VerifiableCredential", "ClrCredential"]
    subject = bundle["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    assert subject["verifiableCredential"] == [signed for signed, _ in levels]
    ids = [signed["credentialSubject"]["achievement"]["id"] for signed, _ in levels]
    assert [a["id"] for a in subject["achievement"]] == ids
    assert subject["association"] == [
        {"type": "Association", "associationType": "precedes", "sourceId": a, "targetId": b}
        for a, b in zip(ids, ids[1:], strict=False)
    ]
    [identity] = subject["identifier"]
    assert identity["hashed"] is True and identity["identityHash"].startswith("sha256$")
    assert "Learner@Example.org".lower() not in json.dumps(bundle).lower()
    validate_clr(bundle)


def test_the_schema_catches_what_it_should(bundle: dict[str, Any]) -> None:
    broken = copy.deepcopy(bundle)
    broken["credentialSubject"]["association"][0]["associationType"] = "follows"
    with pytest.raises(jsonschema.ValidationError):
        validate_clr(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_clr({key: value for key, value in bundle.items() if key != "validFrom"})


def test_an_empty_bundle_or_an_unnamed_learner_is_refused(world: IssuerWorld) -> None:
    with pytest.raises(ValueError, match="at least one"):
        bundle_of(world, [])
    signed, _ = world.signed()
    with pytest.raises(ValueError, match="DID or a salted"):
        clr.build_clr(
            clr_id="urn:uuid:6f1c7a52-3d0e-4c1b-9a57-0b8f5e2d4c11",
            issuer=Issuer(id=world.did, name="Example College"),
            recipient=Recipient(),
            name="x",
            credentials=[signed],
            valid_from=NOW,
        )


def test_canonical_form_is_the_same_by_both_routes_and_for_the_dcc(
    bundle: dict[str, Any],
) -> None:
    """The fast route reads embedded credentials' own contexts; PyLD and the DCC cryptosuite
    give the same bytes."""
    fast = canonical.canonicalize(bundle)
    assert fast == canonical.canonicalize(bundle, fast=False)
    [dcc] = dcc_verify([], canonize=[signing.unsecured(bundle)])["canonical"]
    assert dcc == canonical.canonicalize(signing.unsecured(bundle))


def test_our_verifier_checks_the_bundle_and_each_credential_in_it(
    world: IssuerWorld, bundle: dict[str, Any]
) -> None:
    result = our_verdict(bundle, world.documents())
    assert result.verified is True, result.errors
    embedded = [c for c in result.checks if c["check"].startswith("embedded credential")]
    assert [c["check"] for c in embedded] == [f"embedded credential {n}" for n in (1, 2, 3)]
    assert all(c["passed"] is True for c in embedded)
    assert "Emerging" in embedded[0]["message"]


def test_the_dcc_verifier_verifies_the_bundle(world: IssuerWorld, bundle: dict[str, Any]) -> None:
    [result] = dcc_verify([{"name": "clr", "credential": bundle, "documents": world.documents()}])[
        "results"
    ]
    assert result["verified"] is True, result["errors"]


def test_tampering_with_an_embedded_credential_is_caught(
    world: IssuerWorld, bundle: dict[str, Any]
) -> None:
    # Changed after signing: the bundle's own signature no longer matches, for both verifiers.
    altered = copy.deepcopy(bundle)
    inner = altered["credentialSubject"]["verifiableCredential"][1]
    inner["credentialSubject"]["achievement"]["name"] = "Chief Legal Officer"
    ours = our_verdict(altered, world.documents())
    assert ours.verified is False
    assert verifying.headline(ours.to_json())["kind"] == "altered"
    [dcc] = dcc_verify(
        [{"name": "altered", "credential": altered, "documents": world.documents()}]
    )["results"]
    assert dcc["verified"] is False
    # Bundled and signed anew by someone holding a key: the embedded credential's own proof
    # still gives it away, and the check names it.
    forged = bundle_of(world, altered["credentialSubject"]["verifiableCredential"])
    result = our_verdict(forged, world.documents())
    assert result.verified is False
    checks = {c["check"]: c for c in result.checks}
    assert checks["signature"]["passed"] is True
    assert checks["embedded credential 1"]["passed"] is True
    assert checks["embedded credential 2"]["passed"] is False
    assert checks["embedded credential 2"]["message"].endswith(verifying.ALTERED)


def test_a_revoked_embedded_credential_fails_the_bundle(
    world: IssuerWorld, bundle: dict[str, Any], levels: list[tuple[dict[str, Any], int]]
) -> None:
    revoked = world.status_list(revoked=[levels[2][1]])
    result = our_verdict(bundle, world.documents(revoked))
    assert result.verified is False
    checks = {c["check"]: c for c in result.checks}
    assert checks["not revoked"]["passed"] is True  # the bundle itself has no status
    assert checks["embedded credential 3"]["passed"] is False
    assert "revoked" in checks["embedded credential 3"]["message"]


def test_embedded_credentials_are_bounded(world: IssuerWorld, bundle: dict[str, Any]) -> None:
    result = verifying.verify_credential(
        bundle,
        resolve_key=world.documents().get,
        fetch_status_list=world.documents().get,
        now=NOW,
        limits=Limits(max_embedded=2),
    )
    assert result.verified is False
    assert result.checks[-1] == {
        "check": "embedded credentials",
        "passed": False,
        "message": "It embeds more than 2 credentials: none was checked.",
    }


# --- the app: GET /api/v1/clr and the learner's page -------------------------------------------


def achieve_both(app: Flask, course: Course, learner_index: int = 0) -> list[dict[str, Any]]:
    """Emerging and developing achieved and signed: the learner's credentials, newest first."""
    learner = course.learner_ids[learner_index]
    items = [
        (learner, s, "met") for key in ("emerging", "developing") for s in course.statements[key]
    ]
    assert course.staff.judge(*items).status_code == 201
    sign_queued(app)
    credentials = course.learners[learner_index].get("/api/v1/progress").json["credentials"]
    assert [c["status"] for c in credentials] == ["active", "active"]
    return credentials


def stored(app: Flask, credential_id: str) -> str:
    from lms_plugin.credentials.models import Credential
    from lms_plugin.database import db

    with app.app_context():
        found = db.session.get(Credential, credential_id)
        assert found is not None
        return found.document


def get_clr(session: Any, **query: Any) -> Any:
    return session.client.get("/api/v1/clr", headers=session.headers, query_string=query)


def test_the_learner_downloads_their_levels_as_one_verified_clr(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    credentials = achieve_both(app, course)
    answer = get_clr(course.learners[0])
    assert answer.status_code == 200 and answer.mimetype == "application/ld+json"
    text = answer.get_data(as_text=True)
    bundle = json.loads(text)
    embedded = bundle["credentialSubject"]["verifiableCredential"]
    by_level = {c["level"]: c for c in credentials}
    assert [c["id"] for c in embedded] == [
        by_level["emerging"]["url"],
        by_level["developing"]["url"],
    ]
    for credential in credentials:  # byte for byte what was issued
        assert stored(app, credential["id"]) in text
    [association] = bundle["credentialSubject"]["association"]
    assert association["sourceId"] == embedded[0]["credentialSubject"]["achievement"]["id"]
    assert association["associationType"] == "precedes"
    assert bundle["issuer"]["id"] == embedded[0]["issuer"]["id"]
    validate_clr(bundle)

    verdict = client.post("/api/v1/verify", json=bundle).json
    assert verdict["verified"] is True, verdict
    assert verdict["credential"]["issuer"]["trust"] == "self"
    assert sum(c["check"].startswith("embedded credential") for c in verdict["checks"]) == 2
    status_url = embedded[0]["credentialStatus"]["statusListCredential"]
    documents = {status_url: client.get(status_url).json}
    now = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    [dcc] = dcc_verify([{"name": "app", "credential": bundle, "documents": documents, "now": now}])[
        "results"
    ]
    assert dcc["verified"] is True, dcc["errors"]

    saved = get_clr(course.learners[0], download="1")
    assert re.fullmatch(
        r'attachment; filename="[a-z0-9-]+-levels-\d{4}-\d\d-\d\d\.json"',
        saved.headers["Content-Disposition"],
    )
    page = course.learners[0].get(f"/launch/{course.learners[0].launch_id}").get_data(as_text=True)
    assert "Download all my levels (CLR)" in page
    link = re.search(r'href="([^"]*/api/v1/clr\?[^"]*)"', page)
    assert link is not None
    by_link = course.learners[0].client.get(link.group(1).replace("&amp;", "&"))
    assert by_link.status_code == 200 and "attachment" in by_link.headers["Content-Disposition"]


def test_revoked_credentials_are_left_out_and_none_in_force_is_a_404(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    learner = course.learners[0]
    nothing = get_clr(learner)
    assert nothing.status_code == 404
    assert nothing.json["message"] == "No credential in force yet: there is nothing to bundle."
    page = learner.get(f"/launch/{learner.launch_id}").get_data(as_text=True)
    assert "Download all my levels" not in page

    credentials = achieve_both(app, course)
    developing = next(c for c in credentials if c["level"] == "developing")
    statement = course.statements["developing"][0]
    course.staff.judge((course.learner_ids[0], statement, "not_yet"))  # withdraws it
    bundle = get_clr(learner).json
    ids = [c["id"] for c in bundle["credentialSubject"]["verifiableCredential"]]
    assert developing["url"] not in ids and len(ids) == 1
    assert "association" not in bundle["credentialSubject"]
    assert client.post("/api/v1/verify", json=bundle).json["verified"] is True

    emerging = next(c for c in credentials if c["level"] == "emerging")
    runner = app.test_cli_runner()
    revoked = runner.invoke(cli, ["credentials", "revoke", emerging["id"], "--reason", "test"])
    assert revoked.exit_code == 0, revoked.output
    assert get_clr(learner).status_code == 404
    page = learner.get(f"/launch/{learner.launch_id}").get_data(as_text=True)
    assert "Download all my levels" not in page


def test_who_may_fetch_whose_clr(
    app: Flask, platform: LtiPlatform, course: Course, version_id: int
) -> None:
    achieve_both(app, course)
    me, classmate = course.learner_ids
    assert get_clr(course.staff, learner_id=me).status_code == 200
    assert get_clr(course.staff).status_code == 400  # staff say whose
    assert get_clr(course.staff, learner_id=classmate).status_code == 404  # holds none
    denied = get_clr(course.learners[1], learner_id=me)
    assert denied.status_code == 403
    assert denied.json["message"] == "Learners see only their own credentials."
    assert get_clr(course.learners[0], learner_id=me).status_code == 200
    other = placed_course(app, platform, version_id, context_id="course-2", learners=1)
    assert get_clr(other.staff, learner_id=me).status_code == 403
    for bad in ({"learner_id": "x"}, {"download": "yes"}, {"format": "jwt"}):
        assert get_clr(course.learners[0], **bad).status_code == 400
    assert course.learners[0].client.get("/api/v1/clr").status_code == 403  # no launch named


def test_the_cli_verifies_a_clr_file(app: Flask, course: Course, tmp_path: Path) -> None:
    achieve_both(app, course)
    bundle = get_clr(course.learners[0]).json
    good = tmp_path / "levels.json"
    good.write_text(json.dumps(bundle))
    bundle["credentialSubject"]["verifiableCredential"][0]["name"] = "Altered"
    bad = tmp_path / "altered.json"
    bad.write_text(json.dumps(bundle))
    runner = app.test_cli_runner()
    for path, code in ((good, 0), (bad, 1)):
        result = runner.invoke(cli, ["credentials", "verify", str(path)])
        assert result.exit_code == code, result.output
        answer = json.loads(result.output)
        assert answer["verified"] is (code == 0)
        assert any(c["check"] == "embedded credential 2" for c in answer["checks"])
