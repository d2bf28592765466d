"""The VC-API exchange (SQLite and PostgreSQL): the presentation request, a DID-authenticated
presentation answered with the credential bound to its holder, and hostile presentations refused
with nothing issued."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.database import db
from lms_plugin.wallets.models import WalletOffer
from tests.wallets.conftest import BASE, Holding, Wallet, exchange_path, make_offer
from tests.wallets.test_openid4vci import credential_count, withdraw


def request_of(client: FlaskClient, path: str) -> dict[str, Any]:
    answer = client.post(path, json={})
    assert answer.status_code == 200, answer.json
    return answer.json["verifiablePresentationRequest"]


def test_the_exchange_asks_for_did_authentication_then_issues_to_the_holder(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    offer = make_offer(holding)
    path = exchange_path(offer)
    request = request_of(client, path)
    assert request["query"] == {"type": "DIDAuthentication"}
    assert request["domain"] == BASE and len(request["challenge"]) >= 32
    assert request["interact"]["service"][0]["serviceEndpoint"] == offer["exchange_url"]
    assert request_of(client, path)["challenge"] == request["challenge"]  # asked twice: the same
    wallet = Wallet()
    presentation = wallet.presentation(request["challenge"], request["domain"])
    answer = client.post(path, json={"verifiablePresentation": presentation})
    assert answer.status_code == 200, answer.json
    [credential] = answer.json["verifiablePresentation"]["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == wallet.did
    assert client.post("/api/v1/verify", json=credential).json["verified"] is True
    # Used up: another presentation (even a valid one) gets nothing.
    before = credential_count(app)
    again = client.post(path, json={"verifiablePresentation": presentation})
    assert again.status_code == 404 and again.json["error"] == "invalid_grant"
    assert credential_count(app) == before
    with app.app_context():
        [row] = db.session.scalars(select(WalletOffer)).all()
        assert row.protocol == "vc-api" and row.holder_did == wallet.did


@pytest.mark.parametrize(
    ("jwk", "lcw"), [(True, False), (False, True)], ids=["did:jwk", "Ed25519Signature2020"]
)
def test_did_jwk_holders_and_the_lcw_suite_are_accepted(
    app: Flask, client: FlaskClient, holding: Holding, jwk: bool, lcw: bool
) -> None:
    path = exchange_path(make_offer(holding))
    request = request_of(client, path)
    wallet = Wallet(jwk=jwk)
    presentation = wallet.presentation(request["challenge"], BASE, lcw=lcw)
    answer = client.post(path, json={"verifiablePresentation": presentation})
    assert answer.status_code == 200, answer.json
    credential = answer.json["verifiablePresentation"]["verifiableCredential"][0]
    assert credential["credentialSubject"]["id"] == wallet.did


def _other_holder(wallet: Wallet, challenge: str) -> dict[str, Any]:
    presentation = wallet.presentation(challenge, BASE)
    return {**presentation, "holder": Wallet().did}


def _tampered(wallet: Wallet, challenge: str) -> dict[str, Any]:
    presentation = wallet.presentation(challenge, BASE)
    return {**presentation, "id": "urn:uuid:0b7b5b5e-4a39-4d5e-9f50-1a2b3c4d5e6f"}


HOSTILE = {
    "wrong challenge": lambda w, c: w.presentation("not-the-challenge", BASE),
    "wrong domain": lambda w, c: w.presentation(c, "https://elsewhere.example"),
    "signed by another key": lambda w, c: w.presentation(c, BASE, signer=Wallet().key),
    "holder is another DID": _other_holder,
    "changed after signing": _tampered,
    "did:web method": lambda w, c: w.presentation(c, BASE, method="did:web:evil.example#key-1"),
    "Ed25519Signature2020 by another key": lambda w, c: w.presentation(
        c, BASE, signer=Wallet().key, lcw=True
    ),
    "Ed25519Signature2020, wrong challenge": lambda w, c: w.presentation("x", BASE, lcw=True),
    "not an object": lambda w, c: "a presentation",
    "no proof": lambda w, c: {k: v for k, v in w.presentation(c, BASE).items() if k != "proof"},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_presentations_are_refused_and_issue_nothing(
    app: Flask, client: FlaskClient, holding: Holding, case: str
) -> None:
    path = exchange_path(make_offer(holding))
    challenge = request_of(client, path)["challenge"]
    before = credential_count(app)
    wallet = Wallet()
    answer = client.post(path, json={"verifiablePresentation": HOSTILE[case](wallet, challenge)})
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid_presentation"
    assert credential_count(app) == before
    # Nothing was used up: the right presentation still works.
    good = client.post(path, json={"verifiablePresentation": wallet.presentation(challenge, BASE)})
    assert good.status_code == 200, good.json


def test_unknown_expired_and_withdrawn_exchanges_are_refused(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    assert client.post("/wallets/exchanges/made-up", json={}).status_code == 404
    assert client.post(exchange_path(make_offer(holding)), data="{").status_code == 400
    expired = exchange_path(make_offer(holding))
    challenge = request_of(client, expired)["challenge"]
    with app.app_context():
        for row in db.session.scalars(select(WalletOffer)):
            row.expires_at = row.created_at
        db.session.commit()
    wallet = Wallet()
    late = client.post(
        expired, json={"verifiablePresentation": wallet.presentation(challenge, BASE)}
    )
    assert late.status_code == 404 and late.json["error"] == "invalid_grant"
    withdrawn = exchange_path(make_offer(holding))
    challenge = request_of(client, withdrawn)["challenge"]
    withdraw(holding)
    before = credential_count(app)
    denied = client.post(
        withdrawn, json={"verifiablePresentation": wallet.presentation(challenge, BASE)}
    )
    assert denied.status_code == 400 and denied.json["error"] == "credential_request_denied"
    assert credential_count(app) == before
