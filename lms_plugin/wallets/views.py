"""Web side of wallet pick-up: the OpenID4VCI issuer (metadata, offers, token, nonce and credential
endpoints), the VC-API exchange, the learner's offer (JSON API and the "Add to a wallet" page).

The protocol endpoints answer wallets, not browsers: no CSRF (no cookies are read), errors as
OAuth / OpenID4VCI error objects (`{"error", "error_description"}`) with a 4xx status, and nothing
issued. A used `c_nonce` or a wrong transaction code is recorded in the side session, committed
at once, so that it stays used (counted) although the request answers an error.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from lms_plugin.assessment.api import launch_placement
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.untrusted import DEFAULT_LIMITS, Deadline
from lms_plugin.credentials.views import credential_or_404
from lms_plugin.database import db
from lms_plugin.extensions import csrf
from lms_plugin.lti import current, rate_limit
from lms_plugin.lti.services import LaunchContext
from lms_plugin.wallets import offers, openid4vci, vc_api
from lms_plugin.wallets.offers import NewOffer, OfferError

blueprint = Blueprint("wallets", __name__)
pages = Blueprint("wallet_pages", __name__)


def _settings() -> IssuerSettings:
    settings: IssuerSettings = current_app.extensions["issuer_settings"]
    return settings


def _with_tx_code() -> bool:
    return bool(current_app.config["WALLET_TX_CODE"])


def _oauth_error(code: str, message: str, status: int = 400) -> Response:
    response = jsonify({"error": code, "error_description": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{code}"'
    return response


def _no_store(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


# --- OpenID4VCI ---------------------------------------------------------------------------------


@blueprint.get("/.well-known/openid-credential-issuer")
def issuer_metadata() -> ResponseReturnValue:
    return openid4vci.issuer_metadata(_settings())


@blueprint.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata() -> ResponseReturnValue:
    return openid4vci.authorization_server_metadata(_settings())


@blueprint.get("/wallets/offers/<handle>")
def credential_offer(handle: str) -> ResponseReturnValue:
    """The offer a `credential_offer_uri` names, until it is redeemed or expires."""
    offer = offers.open_offer(db.session, handle) if len(handle) <= 100 else None
    if offer is None:
        return _oauth_error("invalid_request", "This offer is unknown, used or expired.", 404)
    return _no_store(
        openid4vci.credential_offer(_settings(), handle, offer.tx_code_hash is not None)
    )


@blueprint.post("/wallets/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    try:
        answer = openid4vci.token_response(
            db.session, request.form.to_dict(), failures=db.side_session
        )
    except OfferError as error:
        return _oauth_error(error.code, str(error))
    return _no_store(answer)


@blueprint.post("/wallets/nonce")
@csrf.exempt
def nonce() -> ResponseReturnValue:
    value, lifetime = offers.new_nonce(db.session)
    return _no_store({"c_nonce": value, "c_nonce_expires_in": lifetime})


def _use_nonce(value: str) -> bool:
    used = offers.use_nonce(db.side_session, value)
    db.side_session.commit()
    return used


@blueprint.post("/wallets/credential")
@csrf.exempt
def credential() -> ResponseReturnValue:
    scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not access_token.strip() or len(access_token) > 200:
        return _oauth_error("invalid_token", "Send the access token: Authorization: Bearer.", 401)
    try:
        answer = openid4vci.issue_credential(
            db.session,
            _settings(),
            access_token.strip(),
            request.get_json(silent=True),
            use_nonce=_use_nonce,
        )
    except openid4vci.CredentialRequestError as error:
        return _oauth_error(error.code, str(error), error.status)
    return _no_store(answer)


# --- VC-API exchange ----------------------------------------------------------------------------


@blueprint.post("/wallets/exchanges/<exchange>")
@csrf.exempt
def exchange(exchange: str) -> ResponseReturnValue:
    """`{}` -> the presentation request; `{"verifiablePresentation"}` -> the credential."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or len(exchange) > 100:
        return _oauth_error("invalid_request", "Post a JSON object.")
    try:
        offers.exchange_offer(db.session, exchange)
        if "verifiablePresentation" not in body:
            return _no_store(vc_api.presentation_request(_settings(), exchange))
        deadline = Deadline(DEFAULT_LIMITS.max_seconds)
        answer = vc_api.complete_exchange(
            db.session, _settings(), exchange, body["verifiablePresentation"], deadline
        )
    except OfferError as error:
        return _oauth_error(error.code, str(error), 404 if error.code == "invalid_grant" else 400)
    except vc_api.PresentationError as error:
        return _oauth_error("invalid_presentation", f"Presentation refused: {error}.")
    return _no_store(answer)


# --- the learner's offer ------------------------------------------------------------------------


def _learner_offer(launch: LaunchContext, credential_id: str) -> NewOffer:
    """A new offer of the launched learner's own credential (403 for anyone else's, 409 when it is
    revoked, 429 past the limit)."""
    _, placement = launch_placement(staff=False, launch_id=launch.launch_id)
    found: Credential = credential_or_404(credential_id)
    achievement = db.session.get(LevelAchievement, found.achievement_id)
    if (
        launch.staff
        or found.learner_id != launch.person_id
        or achievement is None
        or achievement.resource_link_id != placement.link.id
    ):
        abort(403, description="Only the learner can put their own credential in a wallet.")
    if not rate_limit.allow(db.session, rate_limit.CREDENTIAL_COPIES, launch.person_id):
        abort(429, description=rate_limit.CREDENTIAL_COPIES.message())
    try:
        return offers.create_offer(db.session, found, with_tx_code=_with_tx_code())
    except OfferError as error:
        abort(409, description=f"{error} There is nothing to put in a wallet.")


def _offer_json(new: NewOffer) -> dict[str, Any]:
    settings = _settings()
    body: dict[str, Any] = {
        "offer_uri": openid4vci.offer_uri(settings, new.handle),
        "exchange_url": vc_api.exchange_url(settings, new.exchange),
        "expires_at": new.offer.expires_at.isoformat().replace("+00:00", "Z"),
    }
    if new.tx_code:
        body["tx_code"] = new.tx_code
    return body


@blueprint.post("/api/v1/credentials/<credential_id>/offer")
def offer_api(credential_id: str) -> ResponseReturnValue:
    """The launched learner's offer: `{"offer_uri", "exchange_url", "expires_at"}` (201)."""
    launch = current.current_launch()
    return _no_store(_offer_json(_learner_offer(launch, credential_id)), 201)


def _qr(data: str, title: str) -> str:
    """An inline SVG QR code (quiet zone included, white behind it in dark mode too)."""
    svg = segno.make(data, error="m").svg_inline(omitsize=True, title=title, svgclass="qr-code")
    return str(svg).replace("<svg ", '<svg role="img" ', 1)


@pages.post("/launch/<launch_id>/credentials/<credential_id>/wallet")
def add_to_wallet(launch_id: str, credential_id: str) -> ResponseReturnValue:
    """The "Add to a wallet" page: QR codes and same-device links for a new offer."""
    launch = current.current_launch(launch_id)
    new = _learner_offer(launch, credential_id)
    body = _offer_json(new)
    lcw_link = vc_api.wallet_link(_settings(), new.exchange)
    page = current.render_launch_page(
        "wallets/add.html",
        launch,
        offer=body,
        minutes=int(offers.OFFER_TTL.total_seconds() // 60),
        lcw_link=lcw_link,
        offer_qr=_qr(body["offer_uri"], "QR code for an OpenID4VCI wallet"),
        lcw_qr=_qr(lcw_link, "QR code for the Learner Credential Wallet"),
    )
    response = current_app.make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def wallet_since(credential_ids: list[str]) -> dict[str, Any]:
    """Template global: when each of these credentials went into a wallet."""
    return offers.pickups(db.session, [c for c in credential_ids if c])
