"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow (no Flask).

What the tool serves: the credential issuer's and the authorization server's metadata (the tool
is both), the credential offer (by reference), the token endpoint's answer, the nonce endpoint's
and the credential endpoint's. One credential configuration: the level's OB 3.0
OpenBadgeCredential, format `ldp_vc`, secured with our Data Integrity proof (`eddsa-rdfc-2022`),
bound to the DID of the wallet's key (`did:key` or `did:jwk`), proven by an `openid4vci-proof+jwt`
(EdDSA) over a single-use `c_nonce`. Older drafts' requests (`proof` instead of `proofs`, `format`
instead of `credential_configuration_id`) are read too; `c_nonce` also comes with the token.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from lms_plugin.credentials.builder import CREDENTIAL_CONTEXT, CREDENTIAL_TYPE
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.signing import CRYPTOSUITE
from lms_plugin.orm import utcnow
from lms_plugin.wallets import offers
from lms_plugin.wallets.holders import ProofError, verify_proof_jwt
from lms_plugin.wallets.offers import OfferError

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION_ID = "OpenBadgeCredential_ldp_vc"
FORMAT = "ldp_vc"
OFFER_PATH = "/wallets/offers/"
TOKEN_PATH = "/wallets/token"  # noqa: S105 - a path, not a secret
NONCE_PATH = "/wallets/nonce"
CREDENTIAL_PATH = "/wallets/credential"
DISPLAY_NAME = "Competency level badges"


class CredentialRequestError(ValueError):
    """A refused credential request: `code` is the OpenID4VCI error code, `status` the HTTP one."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def issuer_metadata(settings: IssuerSettings) -> dict[str, Any]:
    """`/.well-known/openid-credential-issuer`."""
    base = settings.base_url
    return {
        "credential_issuer": base,
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": base + NONCE_PATH,
        "display": [{"name": DISPLAY_NAME, "locale": "en"}],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": FORMAT,
                "cryptographic_binding_methods_supported": ["did:key", "did:jwk"],
                "credential_signing_alg_values_supported": [CRYPTOSUITE],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}},
                "credential_definition": {
                    "@context": list(CREDENTIAL_CONTEXT),
                    "type": list(CREDENTIAL_TYPE),
                },
                "credential_metadata": {
                    "display": [
                        {
                            "name": "Competency level badge (Open Badges 3.0)",
                            "locale": "en",
                            "description": "A level of an occupational competency framework, "
                            "judged achieved by the learner's evaluators.",
                        }
                    ]
                },
            }
        },
    }


def authorization_server_metadata(settings: IssuerSettings) -> dict[str, Any]:
    """`/.well-known/oauth-authorization-server` (RFC 8414): only the pre-authorized code."""
    base = settings.base_url
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def offer_uri(settings: IssuerSettings, handle: str) -> str:
    """`openid-credential-offer://?credential_offer_uri=...` (the offer by reference)."""
    return "openid-credential-offer://?credential_offer_uri=" + quote(
        settings.base_url + OFFER_PATH + handle, safe=""
    )


def credential_offer(settings: IssuerSettings, handle: str, with_tx_code: bool) -> dict[str, Any]:
    """The credential offer object an offer URI points to."""
    grant: dict[str, Any] = {"pre-authorized_code": offers.derive(handle, "code")}
    if with_tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": offers.TX_CODE_DIGITS,
            "description": "The code shown under the QR code on your credentials page.",
        }
    return {
        "credential_issuer": settings.base_url,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def token_response(
    session: Session, form: Mapping[str, str], *, failures: Session
) -> dict[str, Any]:
    """The token endpoint: a Bearer access token (and a `c_nonce`) for a pre-authorized code.
    `OfferError` with `unsupported_grant_type`, `invalid_request` or `invalid_grant`; a wrong
    transaction code is counted in `failures` (see `offers.redeem_code`). Flushes."""
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OfferError("unsupported_grant_type", f"Only {PRE_AUTHORIZED_GRANT} is supported.")
    code = form.get("pre-authorized_code") or ""
    if not code or len(code) > 200:
        raise OfferError("invalid_request", "pre-authorized_code is missing.")
    tx_code = form.get("tx_code") or form.get("user_pin")  # user_pin: drafts before 13
    offer, token = offers.redeem_code(session, code, tx_code, failures=failures)
    nonce, lifetime = offers.new_nonce(session)
    assert offer.token_expires_at is not None
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": max(1, int((offer.token_expires_at - utcnow()).total_seconds())),
        "c_nonce": nonce,
        "c_nonce_expires_in": lifetime,
    }


def proof_jwt(request: Mapping[str, Any]) -> str:
    """The one JWT proof of a credential request (`proofs.jwt[0]`, or `proof.jwt` of drafts)."""
    if "credential_configuration_id" in request:
        if request["credential_configuration_id"] != CONFIGURATION_ID:
            raise CredentialRequestError(
                "unknown_credential_configuration",
                f"The only credential configuration is {CONFIGURATION_ID}.",
            )
    elif request.get("format") != FORMAT:
        raise CredentialRequestError(
            "invalid_credential_request",
            f'Name the credential: "credential_configuration_id": "{CONFIGURATION_ID}".',
        )
    proofs, proof = request.get("proofs"), request.get("proof")
    if proofs is not None and proof is not None:
        raise CredentialRequestError("invalid_credential_request", 'Send "proofs" or "proof".')
    if isinstance(proofs, Mapping):
        jwts = proofs.get("jwt")
        if set(proofs) != {"jwt"} or not isinstance(jwts, list) or len(jwts) != 1:
            raise CredentialRequestError(
                "invalid_proof", 'Send exactly one proof: "proofs": {"jwt": ["<jwt>"]}.'
            )
        return jwts[0]
    if isinstance(proof, Mapping) and proof.get("proof_type") == "jwt":
        return proof.get("jwt")  # type: ignore[return-value]
    raise CredentialRequestError("invalid_proof", "The request carries no JWT proof.")


def issue_credential(
    session: Session,
    settings: IssuerSettings,
    token: str,
    request: Any,
    *,
    use_nonce: Callable[[str], bool],
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The credential endpoint: the level's credential bound to the proof's DID, once per access
    token. `use_nonce(nonce) -> bool` uses the `c_nonce` up (the caller keeps that even when the
    request fails afterwards). Raises `CredentialRequestError`. Flushes."""
    now = now or utcnow()
    try:
        offer = offers.offer_for_token(session, token, now)
    except OfferError as error:
        raise CredentialRequestError(error.code, str(error), 401) from None
    if not isinstance(request, Mapping):
        raise CredentialRequestError("invalid_credential_request", "The body is not JSON.")
    try:
        claims = verify_proof_jwt(proof_jwt(request), settings.base_url, now)
    except ProofError as error:
        raise CredentialRequestError("invalid_proof", f"Proof refused: {error}.") from None
    if len(claims.nonce) > 200 or not use_nonce(claims.nonce):
        raise CredentialRequestError(
            "invalid_nonce", "The proof's nonce is not a current c_nonce: get a new one."
        )
    try:
        issued = offers.issue_to_holder(session, settings, offer, claims.holder.did, now)
    except OfferError as error:
        status = 401 if error.code == "invalid_token" else 400
        raise CredentialRequestError(error.code, str(error), status) from None
    return {"credentials": [{"credential": json.loads(issued.credential.document)}]}
