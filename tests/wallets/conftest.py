"""Fixtures for wallet pick-up: a learner holding a credential, and a small Python wallet (its own
Ed25519 key as did:key or did:jwk) that signs OpenID4VCI proofs and DID-authentication
presentations the way the specs say, for the hostile cases the real clients would never send."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin import worker
from lms_plugin.credentials import dids, signing
from lms_plugin.credentials.builder import xsd_datetime
from lms_plugin.credentials.documents import ED25519_2020_V1, VC_V1, VC_V2
from tests.courses import Course, Session

BASE = "http://tool.test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Wallet:
    """A holder key; `jwk=True` names it as did:jwk instead of did:key."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    jwk: bool = False

    @property
    def did(self) -> str:
        if not self.jwk:
            return dids.did_key(self.key)
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
        return "did:jwk:" + b64url(json.dumps(jwk, separators=(",", ":")).encode())

    @property
    def kid(self) -> str:
        return f"{self.did}#0" if self.jwk else dids.did_key_verification_method(self.key)

    def proof(
        self,
        nonce: str | None,
        *,
        aud: str | list[str] = BASE,
        iat: float | None = None,
        kid: str | None = None,
        signer: Ed25519PrivateKey | None = None,
        typ: str = "openid4vci-proof+jwt",
    ) -> str:
        header = {"typ": typ, "alg": "EdDSA", "kid": kid or self.kid}
        payload: dict[str, Any] = {"aud": aud, "iat": int(iat if iat is not None else time.time())}
        if nonce is not None:
            payload["nonce"] = nonce
        signing_input = (
            b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
        )
        signature = (signer or self.key).sign(signing_input.encode("ascii"))
        return signing_input + "." + b64url(signature)

    def presentation(
        self,
        challenge: str,
        domain: str,
        *,
        signer: Ed25519PrivateKey | None = None,
        method: str | None = None,
        lcw: bool = False,
    ) -> dict[str, Any]:
        """A DID Authentication presentation; `lcw`: signed as the Learner Credential Wallet
        signs (Ed25519Signature2020 on a VC 1.1 presentation)."""
        contexts = [VC_V1, ED25519_2020_V1] if lcw else [VC_V2]
        unsigned = {"@context": contexts, "type": ["VerifiablePresentation"], "holder": self.did}
        suite = (
            {"type": "Ed25519Signature2020"}
            if lcw
            else {"type": signing.PROOF_TYPE, "cryptosuite": signing.CRYPTOSUITE}
        )
        proof = {
            **suite,
            "created": xsd_datetime(dt.datetime.now(dt.UTC)),
            "verificationMethod": method or self.kid,
            "proofPurpose": "authentication",
            "challenge": challenge,
            "domain": domain,
        }
        data = signing.hash_data(unsigned, proof, seconds=None)
        proof["proofValue"] = "z" + dids.b58encode((signer or self.key).sign(data))
        return {**unsigned, "proof": proof}


@dataclass
class Holding:
    """A learner of `course` who holds an active credential (as the progress API lists it)."""

    course: Course
    learner: Session
    credential: dict[str, Any]


def achieve(app: Flask, course: Course, index: int = 0) -> dict[str, Any]:
    learner = course.learner_ids[index]
    answer = course.staff.judge(*[(learner, s, "met") for s in course.statements["emerging"]])
    assert answer.status_code == 201, answer.json
    with app.app_context():
        worker.issue_credentials_once()
    [credential] = course.learners[index].get("/api/v1/progress").json["credentials"]
    assert credential["status"] == "active"
    return credential


@pytest.fixture
def holding(app: Flask, course: Course) -> Holding:
    return Holding(course, course.learners[0], achieve(app, course))


def make_offer(holding: Holding) -> dict[str, Any]:
    answer = holding.learner.post(f"/api/v1/credentials/{holding.credential['id']}/offer", None)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.json


def offer_path(offer: dict[str, Any]) -> str:
    """The path of the offer's `credential_offer_uri` on the tool."""
    query = parse_qs(urlsplit(offer["offer_uri"]).query)
    return urlsplit(unquote(query["credential_offer_uri"][0])).path


def exchange_path(offer: dict[str, Any]) -> str:
    return urlsplit(offer["exchange_url"]).path


def pre_authorized_code(client: FlaskClient, offer: dict[str, Any]) -> str:
    document = client.get(offer_path(offer)).json
    grant = document["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    return grant["pre-authorized_code"]


def get_token(client: FlaskClient, code: str, **extra: str) -> Any:
    return client.post(
        "/wallets/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": code,
            **extra,
        },
    )


def request_credential(client: FlaskClient, token: str, proof: str, **body: Any) -> Any:
    return client.post(
        "/wallets/credential",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "credential_configuration_id": "OpenBadgeCredential_ldp_vc",
            "proofs": {"jwt": [proof]},
            **body,
        },
    )
