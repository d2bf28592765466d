"""The VC-API exchange the DCC Learner Credential Wallet speaks (no Flask).

`POST <exchange>` with `{}` answers a Verifiable Presentation Request for DID Authentication (the
exchange's challenge, our origin as domain); the wallet posts back a presentation signed by its DID
(`DataIntegrityProof` `eddsa-rdfc-2022`, or `Ed25519Signature2020` as the Learner Credential Wallet
signs, on a VC 2.0 or 1.1 presentation; purpose `authentication`, that challenge and domain, a
`did:key` or `did:jwk` holder) and gets the level's credential bound to that DID inside an
(unsigned) presentation. The presentation is untrusted input: bounded in size and shape, and
canonicalized in a worker process killed at the deadline, as the verifier does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from lms_plugin.credentials import canonical, dids, signing
from lms_plugin.credentials.documents import VC_V1, VC_V2
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.untrusted import DEFAULT_LIMITS, Deadline, InputError, check_shape
from lms_plugin.orm import utcnow
from lms_plugin.wallets import offers
from lms_plugin.wallets.holders import HolderKey, ProofError, holder_key

EXCHANGE_PATH = "/wallets/exchanges/"
AUTHENTICATION = "authentication"
# The Learner Credential Wallet's suite: the same signed bytes as eddsa-rdfc-2022 (SHA-256 of the
# canonical proof options, then of the document), another proof type.
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
LCW_REQUEST_URL = "https://lcw.app/request.html?request="


class PresentationError(ValueError):
    """The presentation does not authenticate the holder; the message says why."""


def exchange_url(settings: IssuerSettings, exchange: str) -> str:
    return settings.base_url + EXCHANGE_PATH + exchange


def domain(settings: IssuerSettings) -> str:
    """The domain a presentation must be bound to: the tool's origin."""
    parts = urlsplit(settings.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def wallet_link(settings: IssuerSettings, exchange: str) -> str:
    """The Learner Credential Wallet's deep link (also what its QR code holds)."""
    request = {
        "credentialRequestOrigin": domain(settings),
        "protocols": {"vcapi": exchange_url(settings, exchange)},
    }
    return LCW_REQUEST_URL + quote(json.dumps(request, separators=(",", ":")), safe="")


def presentation_request(settings: IssuerSettings, exchange: str) -> dict[str, Any]:
    """The answer to `POST <exchange>` with `{}`."""
    url = exchange_url(settings, exchange)
    return {
        "verifiablePresentationRequest": {
            "query": {"type": "DIDAuthentication"},
            "challenge": offers.derive(exchange, "challenge"),
            "domain": domain(settings),
            "interact": {
                "service": [
                    {"type": "VerifiableCredentialApiExchangeService", "serviceEndpoint": url},
                    {"type": "UnmediatedPresentationService2021", "serviceEndpoint": url},
                ]
            },
        }
    }


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def authenticate(
    presentation: Any, challenge: str, expected_domain: str, deadline: Deadline
) -> HolderKey:
    """The holder's key, if `presentation` is a VC 2.0 presentation signed for this challenge and
    domain by its holder's DID (else `PresentationError`)."""
    if not isinstance(presentation, dict):
        raise PresentationError("verifiablePresentation must be a JSON object")
    try:
        check_shape(presentation, DEFAULT_LIMITS, deadline)
    except InputError as error:
        raise PresentationError(str(error)) from None
    contexts = presentation.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] not in (VC_V2, VC_V1):
        raise PresentationError(f'its "@context" must be a list starting with "{VC_V2}"')
    if "VerifiablePresentation" not in _types(presentation.get("type")):
        raise PresentationError('its "type" must include "VerifiablePresentation"')
    proofs = [p for p in _types(presentation.get("proof")) if isinstance(p, dict)]
    if len(proofs) != 1:
        raise PresentationError("it must carry exactly one proof")
    proof = proofs[0]
    suite = (proof.get("type"), proof.get("cryptosuite"))
    if suite not in ((signing.PROOF_TYPE, signing.CRYPTOSUITE), (ED25519_SIGNATURE_2020, None)):
        raise PresentationError(
            f"its proof must be a {signing.PROOF_TYPE} ({signing.CRYPTOSUITE}) "
            f"or an {ED25519_SIGNATURE_2020}"
        )
    if proof.get("proofPurpose") != AUTHENTICATION:
        raise PresentationError('its proof\'s purpose must be "authentication"')
    if proof.get("challenge") != challenge:
        raise PresentationError("its proof is not for this exchange's challenge")
    if proof.get("domain") != expected_domain:
        raise PresentationError(f"its proof is not for this domain ({expected_domain})")
    try:
        holder = holder_key(proof.get("verificationMethod"))
    except ProofError as error:
        raise PresentationError(str(error)) from None
    if presentation.get("holder", holder.did) != holder.did:
        raise PresentationError("its holder is not the DID that signed it")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 120:
        raise PresentationError("its proof has no base58btc proofValue")
    try:
        signature = dids.b58decode(value[1:])
        data = signing.hash_data(presentation, proof, max(0.001, deadline.remaining()))
    except dids.KeyFormatError:
        raise PresentationError("its proofValue is not base58btc") from None
    except canonical.LimitExceeded:
        raise PresentationError("it took too long to check") from None
    except canonical.CanonicalizationError as error:
        raise PresentationError(f"it is not valid JSON-LD here: {error}") from None
    if not holder.verify(signature, data):
        raise PresentationError("its signature does not match its content and key")
    return holder


def complete_exchange(
    session: Session,
    settings: IssuerSettings,
    exchange: str,
    presentation: Any,
    deadline: Deadline,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The credential bound to the presentation's holder, once per exchange: raises
    `PresentationError` (nothing used up) or `OfferError`. Flushes."""
    now = now or utcnow()
    offers.exchange_offer(session, exchange, now)
    holder = authenticate(
        presentation, offers.derive(exchange, "challenge"), domain(settings), deadline
    )
    offer = offers.claim_exchange(session, exchange, now)
    issued = offers.issue_to_holder(session, settings, offer, holder.did, now)
    return {
        "verifiablePresentation": {
            "@context": [VC_V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [json.loads(issued.credential.document)],
        }
    }
