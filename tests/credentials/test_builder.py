"""Open Badges 3.0 credentials from plain values: the 1EdTech JSON schema, the required shape,
no personal data in clear, every term defined."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from lms_plugin.credentials import canonical, signing
from lms_plugin.credentials.builder import (
    Issuer,
    Recipient,
    build_achievement_credential,
    identity_hash,
    xsd_datetime,
)
from tests.credentials.conftest import FRAMEWORK, NOW, OCCUPATION, IssuerWorld, level_of

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "ob_v3p0_achievementcredential_schema.json").read_text()
)


def validate(credential: dict) -> None:
    jsonschema.Draft201909Validator(SCHEMA).validate(credential)


@pytest.fixture
def signed(world: IssuerWorld) -> dict:
    credential, _ = world.signed()
    return credential


def test_signed_credential_validates_against_the_1edtech_schema(signed: dict) -> None:
    validate(signed)


def test_schema_catches_what_it_should(signed: dict) -> None:
    broken = {**signed, "proof": signed["proof"][0]}  # the schema wants proof as an array
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_credential_for_a_did_and_with_expiry_validates(world: IssuerWorld) -> None:
    credential, _ = world.signed(
        recipient=Recipient.from_did("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        valid_until=NOW + dt.timedelta(days=365),
    )
    validate(credential)
    assert credential["credentialSubject"]["id"].startswith("did:key:")
    assert "identifier" not in credential["credentialSubject"]


def test_shape(signed: dict) -> None:
    assert signed["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert signed["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert signed["id"].startswith("https://tool.example.edu/credentials/")
    assert signed["issuer"] == {
        "id": "did:web:tool.example.edu",
        "type": ["Profile"],
        "name": "Example College",
        "url": "https://example.edu",
    }
    assert signed["validFrom"].endswith("Z") and "." not in signed["validFrom"]
    [proof] = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert signed["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert signed["credentialStatus"]["statusPurpose"] == "revocation"


def test_achievement(signed: dict) -> None:
    subject = signed["credentialSubject"]
    achievement = subject["achievement"]
    assert subject["type"] == ["AchievementSubject"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Competency"
    assert achievement["version"] == "v.26.05"
    assert "© EBSCOed" in achievement["description"]
    narrative = achievement["criteria"]["narrative"]
    statements = level_of().statements
    assert all(f"- {statement.text}" in narrative for statement in statements)
    alignments = achievement["alignment"]
    assert [a["targetUrl"] for a in alignments[:-1]] == [s.url for s in statements]
    assert all(a["targetType"] == "CFItem" for a in alignments[:-1])
    assert alignments[-1]["targetCode"] == "43-6012.00"
    assert alignments[-1]["targetFramework"] == "O*NET-SOC"
    [description] = achievement["resultDescription"]
    [result] = subject["result"]
    assert result["resultDescription"] == description["id"]
    assert result["achievedLevel"] == description["rubricCriterionLevel"][0]["id"]
    assert description["rubricCriterionLevel"][0]["name"] == "Emerging"


def test_statement_target_type_becomes_cfitem_with_a_case_export(world: IssuerWorld) -> None:
    credential = build_achievement_credential(
        credential_id="https://tool.example.edu/credentials/1",
        issuer=Issuer(id=world.did, name="Example College"),
        recipient=Recipient.from_email("a@example.org"),
        level=level_of(statements=2),
        framework=FRAMEWORK,
        occupation=OCCUPATION,
        valid_from=NOW,
        statement_target_type="CFItem",
    )
    assert [
        a["targetType"] for a in credential["credentialSubject"]["achievement"]["alignment"]
    ] == [
        "CFItem",
        "CFItem",
        "ext:Occupation",
    ]
    validate(signing.sign_credential(credential, world.current, world.method()))


def test_no_email_in_clear_and_the_hash_checks_out(world: IssuerWorld) -> None:
    email = "Ada.Lovelace@Example.org"
    credential, _ = world.signed(recipient=Recipient.from_email(email, salt="pepper"))
    text = json.dumps(credential)
    assert email.lower() not in text.lower() and "Lovelace" not in text
    [identity] = credential["credentialSubject"]["identifier"]
    digest = hashlib.sha256(b"ada.lovelace@example.orgpepper").hexdigest()
    assert identity == {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": "pepper",
    }
    assert identity_hash(" ADA.lovelace@example.org ", "pepper") == identity["identityHash"]


def test_salts_differ_between_credentials() -> None:
    assert Recipient.from_email("a@example.org").salt != Recipient.from_email("a@example.org").salt


def test_every_property_is_defined_by_the_contexts(signed: dict) -> None:
    canonical.canonicalize(signed)  # raises on any undefined term or relative IRI


def test_refusals() -> None:
    with pytest.raises(ValueError, match="DID"):
        Recipient.from_did("mailto:a@example.org")
    with pytest.raises(ValueError, match="statement"):
        build_achievement_credential(
            credential_id="https://tool.example.edu/credentials/1",
            issuer=Issuer(id="did:web:tool.example.edu", name="X"),
            recipient=Recipient.from_email("a@example.org"),
            level=level_of(statements=0),
            framework=FRAMEWORK,
            occupation=OCCUPATION,
            valid_from=NOW,
        )


def test_xsd_datetime_is_utc_with_z() -> None:
    moment = dt.datetime(2026, 5, 1, 14, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert xsd_datetime(moment) == "2026-05-01T12:30:05Z"
    assert xsd_datetime(dt.datetime(2026, 5, 1)) == "2026-05-01T00:00:00Z"
