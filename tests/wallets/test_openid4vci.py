"""OpenID4VCI pre-authorized code flow against the app (SQLite and PostgreSQL): the happy path with
a did:key and a did:jwk wallet, and every hostile case answering its error code with nothing
issued."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from lms_plugin.wallets.models import WalletOffer
from tests.wallets.conftest import (
    BASE,
    Holding,
    Wallet,
    get_token,
    make_offer,
    offer_path,
    pre_authorized_code,
    request_credential,
)


def credential_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Credential)) or 0


def token_for(client: FlaskClient, holding: Holding) -> dict[str, Any]:
    answer = get_token(client, pre_authorized_code(client, make_offer(holding)))
    assert answer.status_code == 200, answer.json
    return answer.json


def test_metadata_describe_the_pre_authorized_flow_and_the_credential(client: FlaskClient) -> None:
    issuer = client.get("/.well-known/openid-credential-issuer").json
    assert issuer["credential_issuer"] == BASE
    assert issuer["credential_endpoint"] == f"{BASE}/wallets/credential"
    assert issuer["nonce_endpoint"] == f"{BASE}/wallets/nonce"
    [(config_id, config)] = issuer["credential_configurations_supported"].items()
    assert config["format"] == "ldp_vc"
    assert config["credential_definition"]["type"] == [
        "VerifiableCredential",
        "OpenBadgeCredential",
    ]
    assert config["proof_types_supported"] == {
        "jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}
    }
    assert config["cryptographic_binding_methods_supported"] == ["did:key", "did:jwk"]
    server = client.get("/.well-known/oauth-authorization-server").json
    assert server["issuer"] == BASE and server["token_endpoint"] == f"{BASE}/wallets/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True


@pytest.mark.parametrize("jwk", [False, True], ids=["did:key", "did:jwk"])
def test_a_wallet_picks_up_a_credential_bound_to_its_did(
    app: Flask, client: FlaskClient, holding: Holding, jwk: bool
) -> None:
    offer = make_offer(holding)
    assert offer["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert set(offer) == {"offer_uri", "exchange_url", "expires_at"}
    document = client.get(offer_path(offer)).json
    assert document["credential_issuer"] == BASE
    assert document["credential_configuration_ids"] == ["OpenBadgeCredential_ldp_vc"]
    token = get_token(client, pre_authorized_code(client, offer))
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    assert token.json["token_type"] == "Bearer"
    wallet = Wallet(jwk=jwk)
    nonce = client.post("/wallets/nonce").json["c_nonce"]
    answer = request_credential(client, token.json["access_token"], wallet.proof(nonce))
    assert answer.status_code == 200, answer.json
    [item] = answer.json["credentials"]
    credential = item["credential"]
    assert credential["credentialSubject"]["id"] == wallet.did
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    verified = client.post("/api/v1/verify", json=credential).json
    assert verified["verified"] is True, verified
    # The learner's page lists the new credential, in a wallet since now.
    listed = holding.learner.get("/api/v1/progress").json["credentials"]
    assert len(listed) == 2
    page = holding.learner.client.get(f"/launch/{holding.learner.launch_id}").get_data(True)
    assert "in a wallet since" in page
    # The offer is used up: its URI, its code and its token answer errors.
    assert client.get(offer_path(offer)).status_code == 404
    again = request_credential(client, token.json["access_token"], wallet.proof(nonce))
    assert again.status_code == 401 and again.json["error"] == "invalid_token"


def test_the_token_answer_carries_a_nonce_for_older_drafts(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    token = token_for(client, holding)
    wallet = Wallet()
    answer = client.post(
        "/wallets/credential",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        json={
            "format": "ldp_vc",
            "proof": {"proof_type": "jwt", "jwt": wallet.proof(token["c_nonce"])},
        },
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["credentials"][0]["credential"]["credentialSubject"]["id"] == wallet.did


def test_a_replayed_code_is_refused(app: Flask, client: FlaskClient, holding: Holding) -> None:
    code = pre_authorized_code(client, make_offer(holding))
    assert get_token(client, code).status_code == 200
    replay = get_token(client, code)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert get_token(client, "made-up").json["error"] == "invalid_grant"
    wrong_grant = client.post("/wallets/token", data={"grant_type": "authorization_code"})
    assert wrong_grant.status_code == 400 and wrong_grant.json["error"] == "unsupported_grant_type"


def nonce_of(client: FlaskClient) -> str:
    return client.post("/wallets/nonce").json["c_nonce"]


HOSTILE_PROOFS = {
    "unknown nonce": (lambda w, n: w.proof("never-issued"), "invalid_nonce"),
    "no nonce": (lambda w, n: w.proof(None), "invalid_proof"),
    "another key signed": (lambda w, n: w.proof(n, signer=Wallet().key), "invalid_proof"),
    "wrong audience": (lambda w, n: w.proof(n, aud="https://elsewhere.example"), "invalid_proof"),
    "old iat": (lambda w, n: w.proof(n, iat=time.time() - 3600), "invalid_proof"),
    "wrong typ": (lambda w, n: w.proof(n, typ="JWT"), "invalid_proof"),
    "did:web kid": (lambda w, n: w.proof(n, kid="did:web:evil.example#key-1"), "invalid_proof"),
    "mismatched did:key fragment": (
        lambda w, n: w.proof(n, kid=w.did + "#" + Wallet().did.removeprefix("did:key:")),
        "invalid_proof",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_PROOFS)
def test_hostile_proofs_are_refused_and_issue_nothing(
    app: Flask, client: FlaskClient, holding: Holding, case: str
) -> None:
    token = token_for(client, holding)["access_token"]
    before = credential_count(app)
    wallet = Wallet()
    make_proof, error = HOSTILE_PROOFS[case]
    answer = request_credential(client, token, make_proof(wallet, nonce_of(client)))
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == error
    assert credential_count(app) == before
    # The token still works with a good proof: nothing was used up by the refusal.
    good = request_credential(client, token, wallet.proof(nonce_of(client)))
    assert good.status_code == 200, good.json


def test_a_used_nonce_is_stale(app: Flask, client: FlaskClient, holding: Holding) -> None:
    wallet = Wallet()
    nonce = nonce_of(client)
    first = request_credential(
        client, token_for(client, holding)["access_token"], wallet.proof(nonce)
    )
    assert first.status_code == 200
    before = credential_count(app)
    other = token_for(client, holding)["access_token"]
    stale = request_credential(client, other, wallet.proof(nonce))
    assert stale.status_code == 400 and stale.json["error"] == "invalid_nonce"
    assert credential_count(app) == before


def test_requests_without_a_valid_token_are_401(client: FlaskClient) -> None:
    wallet = Wallet()
    nonce = nonce_of(client)
    missing = client.post("/wallets/credential", json={})
    assert missing.status_code == 401 and missing.json["error"] == "invalid_token"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    made_up = request_credential(client, "made-up", wallet.proof(nonce))
    assert made_up.status_code == 401 and made_up.json["error"] == "invalid_token"


def test_an_expired_offer_is_refused(app: Flask, client: FlaskClient, holding: Holding) -> None:
    offer = make_offer(holding)
    code = pre_authorized_code(client, offer)
    with app.app_context():
        for row in db.session.scalars(select(WalletOffer)):
            row.expires_at = row.created_at
        db.session.commit()
    assert client.get(offer_path(offer)).status_code == 404
    answer = get_token(client, code)
    assert answer.status_code == 400 and answer.json["error"] == "invalid_grant"


def test_an_expired_token_is_refused(app: Flask, client: FlaskClient, holding: Holding) -> None:
    token = token_for(client, holding)["access_token"]
    with app.app_context():
        for row in db.session.scalars(select(WalletOffer)):
            row.token_expires_at = row.created_at
        db.session.commit()
    before = credential_count(app)
    answer = request_credential(client, token, Wallet().proof(nonce_of(client)))
    assert answer.status_code == 401 and answer.json["error"] == "invalid_token"
    assert credential_count(app) == before


def withdraw(holding: Holding) -> None:
    course = holding.course
    statement = course.statements["emerging"][0]
    answer = course.staff.judge((holding.learner.person_id, statement, "not_yet"))
    assert answer.status_code == 201 and answer.json["withdrawn"], answer.json


def test_offers_for_a_withdrawn_level_are_refused(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    offer = make_offer(holding)
    code = pre_authorized_code(client, offer)
    token = token_for(client, holding)["access_token"]
    withdraw(holding)
    before = credential_count(app)
    refused = get_token(client, code)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
    denied = request_credential(client, token, Wallet().proof(nonce_of(client)))
    assert denied.status_code == 400 and denied.json["error"] == "credential_request_denied"
    assert credential_count(app) == before
    # And no new offer for it: the credential is revoked.
    again = holding.learner.post(f"/api/v1/credentials/{holding.credential['id']}/offer", None)
    assert again.status_code == 409


def test_a_wallet_copy_is_revoked_with_the_level(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    token = token_for(client, holding)["access_token"]
    answer = request_credential(client, token, Wallet().proof(nonce_of(client)))
    copy = answer.json["credentials"][0]["credential"]
    withdraw(holding)
    listed = holding.learner.get("/api/v1/progress").json["credentials"]
    assert {c["status"] for c in listed} == {"revoked"} and len(listed) == 2
    verified = client.post("/api/v1/verify", json=copy).json
    assert verified["verified"] is False


def test_a_transaction_code_when_the_operator_asks_for_one(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    app.config["WALLET_TX_CODE"] = True
    offer = make_offer(holding)
    assert offer["tx_code"].isdigit() and len(offer["tx_code"]) == 6
    document = client.get(offer_path(offer)).json
    grant = document["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    code = grant["pre-authorized_code"]
    assert get_token(client, code).json["error"] == "invalid_grant"  # no code
    wrong = str((int(offer["tx_code"]) + 1) % 1_000_000).zfill(6)
    assert get_token(client, code, tx_code=wrong).json["error"] == "invalid_grant"
    assert get_token(client, code, tx_code=offer["tx_code"]).status_code == 200


def test_wrong_transaction_codes_use_the_offer_up(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    app.config["WALLET_TX_CODE"] = True
    offer = make_offer(holding)
    code = pre_authorized_code(client, offer)
    for _ in range(5):
        assert get_token(client, code, tx_code="000000x").status_code == 400
    refused = get_token(client, code, tx_code=offer["tx_code"])
    assert refused.status_code == 400 and "Too many" in refused.json["error_description"]


def test_an_offer_whose_credentials_staff_revoked_issues_nothing(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    code = pre_authorized_code(client, make_offer(holding))
    token = token_for(client, holding)["access_token"]
    staff = holding.course.staff
    revoked = staff.client.post(
        f"/launch/{staff.launch_id}/credentials/{holding.credential['id']}/revoke",
        data={"csrf_token": staff.csrf, "reason": "Issued by mistake."},
    )
    assert revoked.status_code == 303
    before = credential_count(app)
    refused = get_token(client, code)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
    denied = request_credential(client, token, Wallet().proof(nonce_of(client)))
    assert denied.status_code == 400 and denied.json["error"] == "credential_request_denied"
    assert credential_count(app) == before


def test_two_wallets_racing_for_one_code_and_one_token_get_one_credential(
    app: Flask, client: FlaskClient, holding: Holding
) -> None:
    code = pre_authorized_code(client, make_offer(holding))
    start = threading.Barrier(2)

    def redeem(_: int) -> int:
        start.wait()
        return get_token(app.test_client(), code).status_code

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(redeem, range(2))) == [200, 400]
    token = token_for(client, holding)["access_token"]
    before = credential_count(app)
    proofs = [Wallet().proof(nonce_of(client)) for _ in range(2)]

    def pick_up(index: int) -> int:
        start.wait()
        return request_credential(app.test_client(), token, proofs[index]).status_code

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(pick_up, range(2))) == [200, 401]
    assert credential_count(app) == before + 1
