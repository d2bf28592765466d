"""Holder keys (did:key, did:jwk) and the OpenID4VCI JWT proof, without a database."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pytest

from lms_plugin.wallets.holders import ProofError, holder_key, verify_proof_jwt
from tests.wallets.conftest import BASE, Wallet, b64url

NOW = dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("jwk", [False, True], ids=["did:key", "did:jwk"])
def test_a_good_proof_names_its_holder_and_nonce(jwk: bool) -> None:
    wallet = Wallet(jwk=jwk)
    claims = verify_proof_jwt(wallet.proof("n-1"), BASE, dt.datetime.now(dt.UTC))
    assert claims.holder.did == wallet.did and claims.nonce == "n-1"


def _jwk_did(jwk: dict[str, str]) -> str:
    return "did:jwk:" + b64url(json.dumps(jwk).encode())


X = b64url(bytes(32))


@pytest.mark.parametrize(
    "method",
    [
        None,
        "did:web:example.org#key-1",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # no fragment
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme#zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        _jwk_did({"kty": "EC", "crv": "P-256", "x": X, "y": X}) + "#0",
        _jwk_did({"kty": "OKP", "crv": "Ed25519", "x": X, "d": X}) + "#0",
        _jwk_did({"kty": "OKP", "crv": "Ed25519", "x": X}) + "#1",
        "did:jwk:!!!#0",
        "did:key:z6Mk\u0000#z6Mk",
        "did:key:" + "z" * 5000,
    ],
)
def test_keys_that_are_not_offline_ed25519_dids_are_refused(method: object) -> None:
    with pytest.raises(ProofError):
        holder_key(method)


def _forged(header: dict[str, object], payload: dict[str, object]) -> str:
    wallet = Wallet()
    part = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return part + "." + b64url(wallet.key.sign(part.encode()))


@pytest.mark.parametrize(
    "token",
    [
        "not a jwt",
        "a.b.c",
        "x" * 5000,
        _forged({"typ": "openid4vci-proof+jwt", "alg": "none", "kid": "did:key:x#x"}, {}),
        _forged(
            {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP"}},
            {"aud": BASE, "iat": int(time.time()), "nonce": "n"},
        ),
        base64.urlsafe_b64encode(b"[]").decode().rstrip("=") + ".e30.e30",
    ],
)
def test_malformed_proofs_are_refused(token: str) -> None:
    with pytest.raises(ProofError):
        verify_proof_jwt(token, BASE, NOW)


def test_a_list_audience_containing_the_issuer_is_accepted() -> None:
    wallet = Wallet()
    claims = verify_proof_jwt(
        wallet.proof("n", aud=["https://other.example", BASE]), BASE, dt.datetime.now(dt.UTC)
    )
    assert claims.nonce == "n"
    with pytest.raises(ProofError, match="iat"):
        verify_proof_jwt(wallet.proof("n", iat=time.time() + 3600), BASE, dt.datetime.now(dt.UTC))
