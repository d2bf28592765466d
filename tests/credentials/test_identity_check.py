"""Who earned it: an e-mail address checked against the credential's salted `identityHash`
(`POST /api/v1/identity-check`, and "Check an e-mail address" on the verify page) answers only
match or no match, for the credential itself or its URL; hostile input is a 4xx."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from lms_plugin.credentials import identity_check
from lms_plugin.credentials.builder import Recipient
from tests.credentials.conftest import IssuerWorld
from tests.credentials.test_trust_list import serving
from tests.credentials.test_verify_facts import foreign

EARNER = "Learner@Example.org"  # what the IssuerWorld's credentials are issued to


def check(client: FlaskClient, credential: Any, email: Any) -> Any:
    return client.post("/api/v1/identity-check", json={"credential": credential, "email": email})


@pytest.mark.parametrize(
    ("email", "match"),
    [
        ("learner@example.org", True),
        ("  LEARNER@example.ORG\n", True),
        (EARNER, True),
        ("learner@example.com", False),
        ("learner2@example.org", False),
        ("other@example.org", False),
    ],
)
def test_only_the_earners_address_matches(
    client: FlaskClient, world: IssuerWorld, email: str, match: bool
) -> None:
    signed, _ = world.signed()

    answer = check(client, signed, email)

    assert answer.status_code == 200
    assert answer.json == {"match": match}  # nothing else is said


def test_a_credential_given_by_its_url(client: FlaskClient, world: IssuerWorld) -> None:
    signed = foreign(world)
    with serving({"/badge.json": signed}) as (base, asked):
        assert check(client, f"{base}/badge.json", EARNER).json == {"match": True}
        assert check(client, f"{base}/badge.json", "ada@example.org").json == {"match": False}
        missing = check(client, f"{base}/gone.json", EARNER)
        assert asked == ["/badge.json", "/badge.json", "/gone.json"]
    assert missing.status_code == 400
    assert "could not be read" in missing.json["message"] and "404" in missing.json["message"]
    unreachable = check(client, "http://127.0.0.1:9/badge.json", EARNER)
    assert unreachable.status_code == 400
    assert "could not be reached" in unreachable.json["message"]
    assert "Error" not in unreachable.json["message"]  # no library's exception names


def test_no_csrf_token_is_needed_as_for_the_verify_api(make_app: Any, world: IssuerWorld) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    signed, _ = world.signed()
    answer = app.test_client().post(
        "/api/v1/identity-check", json={"credential": signed, "email": EARNER}
    )
    assert answer.status_code == 200 and answer.json == {"match": True}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", '"credential" and "email"'),
        (b'{"credential": {}}', '"credential" and "email"'),
        (b'{"credential": {}, "email": "a@b.c", "salt": "x"}', '"credential" and "email"'),
        (b'{"credential": {}, "email": 7}', "must be text"),
        (b'{"credential": {}, "email": "not an address"}', "one e-mail address"),
        (b'{"credential": {}, "email": "a@b.c d@e.f"}', "one e-mail address"),
        (json.dumps({"credential": {}, "email": "a@" + "b" * 400}).encode(), "at most 320"),
        (b'{"credential": 42, "email": "a@b.c"}', "a JSON object) or its URL"),
        (b'{"credential": [{}], "email": "a@b.c"}', "a JSON object) or its URL"),
        (b'{"credential": "file:///etc/passwd", "email": "a@b.c"}', "only https URLs"),
        (b'{"credential": "not-a-url", "email": "a@b.c"}', "not an absolute URL"),
        (b'{"credential": {}, "email": "a@b.c", "email": "d@e.f"}', "twice"),
        (b'{"email": "a@b.c", "credential": ' + b'{"a": ' * 100 + b"1" + b"}" * 101, "nested"),
    ],
)
def test_hostile_input_is_a_clear_400(client: FlaskClient, body: bytes, message: str) -> None:
    answer = client.post("/api/v1/identity-check", data=body, content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert message in answer.json["message"]
    assert "match" not in answer.json


def test_a_body_over_the_size_limit_is_refused(client: FlaskClient) -> None:
    body = json.dumps({"credential": {"x": "a" * 2_000_000}, "email": EARNER})
    answer = client.post("/api/v1/identity-check", data=body, content_type="application/json")
    assert answer.status_code == 413


def identified(*identities: dict[str, Any]) -> dict[str, Any]:
    return {"credentialSubject": {"identifier": list(identities)}}


def test_hashes_as_the_builder_makes_them_and_plain_addresses() -> None:
    recipient = Recipient.from_email(EARNER, salt="pepper")
    hashed = {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": recipient.email_hash,
        "salt": "pepper",
    }
    email = identity_check.normalized_email(" Learner@EXAMPLE.org ")
    assert identity_check.email_matches(identified(hashed), email)
    # An upper-case hex digest is the same hash.
    upper = {**hashed, "identityHash": "sha256$" + recipient.email_hash[7:].upper()}
    assert identity_check.email_matches(identified(upper), email)
    assert not identity_check.email_matches(identified({**hashed, "salt": "salt"}), email)
    plain = {
        "identityType": "emailAddress",
        "hashed": False,
        "identityHash": " LEARNER@example.org",
    }
    assert identity_check.email_matches(identified(plain), email)
    assert not identity_check.email_matches(identified(plain), "learner@example.com")
    # Only e-mail identities count: the hash of an LTI user id never matches an address.
    lti = {**hashed, "identityType": "ltiUserId"}
    assert not identity_check.email_matches(identified(lti), email)
    subjects = {"credentialSubject": [{"identifier": hashed}, "did:example:1"]}
    assert identity_check.email_matches(subjects, email)


@pytest.mark.parametrize(
    "credential",
    [
        None,
        "a string",
        {"credentialSubject": None},
        {"credentialSubject": {"identifier": "x"}},
        identified({"identityType": "emailAddress", "hashed": True, "identityHash": 5}),
        identified({"identityType": "emailAddress", "hashed": True, "identityHash": "md5$00"}),
        identified({"identityType": "emailAddress", "hashed": True, "identityHash": "sha256$zz"}),
        identified(
            {
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": "sha256$" + "0" * 64,
                "salt": ["x"],
            }
        ),
        identified({"identityType": "emailAddress", "hashed": "yes", "identityHash": "a@b.c"}),
    ],
)
def test_odd_shapes_never_match_and_never_raise(credential: Any) -> None:
    assert identity_check.email_matches(credential, "a@b.c") is False


def pasted_with_email(client: FlaskClient, fields: dict[str, str]) -> str:
    form = client.get("/verify").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/verify", data={"csrf_token": token, **fields})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def test_the_verify_page_checks_an_email_address(client: FlaskClient, world: IssuerWorld) -> None:
    signed = foreign(world)
    first = pasted_with_email(client, {"credential": json.dumps(signed)})
    assert "Check an e-mail address" in first and 'name="email"' in first
    # The form sends the credential back with the address.
    sent_back = first.split('name="credential" value="')[1].split('"')[0]
    assert json.loads(html.unescape(sent_back)) == signed

    matched = pasted_with_email(client, {"credential": json.dumps(signed), "email": EARNER})
    assert "✓ learner@example.org is the earner's e-mail address." in matched
    other = pasted_with_email(client, {"credential": json.dumps(signed), "email": "x@example.org"})
    assert "✗ x@example.org is not the earner's e-mail address." in other
    odd = pasted_with_email(client, {"credential": json.dumps(signed), "email": "<b>nobody"})
    assert "Give one e-mail address" in odd and "<b>nobody" not in odd
    assert "✓ Verified" in odd or "Issuer unknown" in odd  # the verification is still shown


def test_the_verify_page_checks_a_credential_given_by_url(
    client: FlaskClient, world: IssuerWorld
) -> None:
    signed = foreign(world)
    with serving({"/badge.json": signed}) as (base, _asked):
        first = pasted_with_email(client, {"url": f"{base}/badge.json"})
        assert f'name="url" value="{base}/badge.json"' in first
        matched = pasted_with_email(client, {"url": f"{base}/badge.json", "email": EARNER})
    assert "is the earner's e-mail address." in matched


def test_a_link_to_the_verify_page_can_name_the_credential(client: FlaskClient) -> None:
    page = client.get("/verify?url=https://tool.example/credentials/1%22%3E%3Cb%3E")
    assert page.status_code == 200
    assert 'value="https://tool.example/credentials/1&#34;&gt;&lt;b&gt;"' in page.get_data(
        as_text=True
    )
