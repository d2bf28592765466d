"""Offers of a credential to a wallet, on a SQLAlchemy session (no Flask).

An offer is made of one random secret, the handle in the offer URI; the pre-authorized code, the
VC-API exchange handle and the exchange's challenge are derived from it (HMAC-SHA256), so the
offer can be shown again from its URI while only hashes are stored. An offer lives `OFFER_TTL`
and is used up by the first wallet that redeems it (code for token, or exchange completed); its
credential is a new credential of the same level achievement, bound to the wallet's DID, and is
revoked with the level like every other.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lms_plugin.assessment import awards
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials.issuance import Issued, IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.orm import utcnow
from lms_plugin.wallets.models import WalletNonce, WalletOffer

OFFER_TTL = dt.timedelta(minutes=10)
TOKEN_TTL = dt.timedelta(minutes=5)
NONCE_TTL = dt.timedelta(minutes=5)
TX_CODE_DIGITS = 6
TX_CODE_ATTEMPTS = 5
OPENID4VCI = "openid4vci"
VC_API = "vc-api"


class OfferError(ValueError):
    """The offer cannot be used; `code` is the OAuth / OpenID4VCI error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def derive(handle: str, purpose: str) -> str:
    """A secret derived from the offer handle (`code`, `exchange`, `challenge`)."""
    mac = hmac.new(handle.encode("ascii"), purpose.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class NewOffer:
    """An offer just made: the secrets the learner's page shows once."""

    offer: WalletOffer
    handle: str
    exchange: str
    tx_code: str | None


def usable_achievement(
    session: Session, credential: Credential, now: dt.datetime
) -> LevelAchievement:
    """The level achievement behind `credential`, if it still stands and the credential is
    neither revoked nor expired (else `OfferError`)."""
    achievement = session.get(LevelAchievement, credential.achievement_id)
    if achievement is None or achievement.withdrawn_at is not None:
        raise OfferError("credential_request_denied", "This level was withdrawn.")
    if credential.revoked_at is not None:
        raise OfferError("credential_request_denied", "This credential is revoked.")
    if credential.valid_until is not None and credential.valid_until <= now:
        raise OfferError("credential_request_denied", "This credential has expired.")
    return achievement


def create_offer(
    session: Session, credential: Credential, *, with_tx_code: bool, now: dt.datetime | None = None
) -> NewOffer:
    """A new offer of `credential`'s level to a wallet (refused for a revoked one); the learner's
    offers that expired unused are deleted. Flushes."""
    now = now or utcnow()
    achievement = usable_achievement(session, credential, now)
    session.execute(
        delete(WalletOffer).where(
            WalletOffer.learner_id == credential.learner_id,
            WalletOffer.redeemed_at.is_(None),
            WalletOffer.expires_at <= now,
        )
    )
    handle = secrets.token_urlsafe(32)
    exchange = derive(handle, "exchange")
    tx_code = (
        "".join(secrets.choice("0123456789") for _ in range(TX_CODE_DIGITS))
        if with_tx_code
        else None
    )
    offer = WalletOffer(
        handle_hash=digest(handle),
        code_hash=digest(derive(handle, "code")),
        exchange_hash=digest(exchange),
        tx_code_hash=digest(tx_code) if tx_code else None,
        learner_id=credential.learner_id,
        achievement_id=achievement.id,
        created_at=now,
        expires_at=now + OFFER_TTL,
    )
    session.add(offer)
    session.flush()
    return NewOffer(offer, handle, exchange, tx_code)


def open_offer(session: Session, handle: str, now: dt.datetime | None = None) -> WalletOffer | None:
    """The offer of a handle while it can still be redeemed (None: unknown, used or expired)."""
    offer = session.scalar(select(WalletOffer).where(WalletOffer.handle_hash == digest(handle)))
    if offer is None or offer.redeemed_at is not None or offer.expires_at <= (now or utcnow()):
        return None
    return offer


def redeem_code(
    session: Session,
    code: str,
    tx_code: str | None,
    *,
    failures: Session,
    now: dt.datetime | None = None,
) -> tuple[WalletOffer, str]:
    """Exchange a pre-authorized code (and the transaction code, when the offer has one) for an
    access token, once: (offer, token). `OfferError("invalid_grant")` otherwise. Flushes.

    A wrong transaction code counts against the offer (`TX_CODE_ATTEMPTS`) in `failures`, a
    session committed here: the count must outlive the error answer, whose request rolls back."""
    now = now or utcnow()
    offer = session.scalar(select(WalletOffer).where(WalletOffer.code_hash == digest(code)))
    if offer is None or offer.redeemed_at is not None or offer.expires_at <= now:
        raise OfferError("invalid_grant", "This code is unknown, used or expired.")
    if offer.tx_code_hash is not None:
        if offer.tx_code_failures >= TX_CODE_ATTEMPTS:
            raise OfferError("invalid_grant", "Too many wrong transaction codes: ask again.")
        if not tx_code or not hmac.compare_digest(digest(tx_code), offer.tx_code_hash):
            failures.execute(
                update(WalletOffer)
                .where(WalletOffer.id == offer.id)
                .values(tx_code_failures=WalletOffer.tx_code_failures + 1)
            )
            failures.commit()
            raise OfferError("invalid_grant", "The transaction code is wrong.")
    _standing(session, offer, "invalid_grant")
    token = secrets.token_urlsafe(32)
    claimed = session.execute(
        update(WalletOffer)
        .where(WalletOffer.id == offer.id, WalletOffer.redeemed_at.is_(None))
        .values(
            redeemed_at=now,
            protocol=OPENID4VCI,
            token_hash=digest(token),
            token_expires_at=min(now + TOKEN_TTL, offer.expires_at + TOKEN_TTL),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise OfferError("invalid_grant", "This code was used already.")
    session.refresh(offer)
    return offer, token


def offer_for_token(session: Session, token: str, now: dt.datetime | None = None) -> WalletOffer:
    """The offer an access token was issued for, while the token lives and has not been used."""
    now = now or utcnow()
    offer = session.scalar(select(WalletOffer).where(WalletOffer.token_hash == digest(token)))
    if offer is None or offer.token_expires_at is None or offer.token_expires_at <= now:
        raise OfferError("invalid_token", "The access token is unknown or expired.")
    if offer.credential_id is not None:
        raise OfferError("invalid_token", "The access token was used already.")
    return offer


def new_nonce(session: Session, now: dt.datetime | None = None) -> tuple[str, int]:
    """A fresh `c_nonce` and its lifetime in seconds (expired ones are purged here). Flushes."""
    now = now or utcnow()
    session.execute(delete(WalletNonce).where(WalletNonce.expires_at <= now))
    nonce = secrets.token_urlsafe(24)
    session.add(WalletNonce(nonce_hash=digest(nonce), expires_at=now + NONCE_TTL))
    session.flush()
    return nonce, int(NONCE_TTL.total_seconds())


def use_nonce(session: Session, nonce: str, now: dt.datetime | None = None) -> bool:
    """Use a `c_nonce` up: True once if it was issued and has not expired."""
    used = session.execute(
        delete(WalletNonce).where(
            WalletNonce.nonce_hash == digest(nonce), WalletNonce.expires_at > (now or utcnow())
        )
    )
    return used.rowcount == 1  # type: ignore[attr-defined]


def _standing(session: Session, offer: WalletOffer, error: str) -> LevelAchievement:
    """The offer's level achievement, if it stands and still has a credential in force (staff may
    have revoked them); `OfferError(error)` otherwise."""
    achievement = session.get(LevelAchievement, offer.achievement_id)
    if achievement is None or achievement.withdrawn_at is not None:
        raise OfferError(error, "This level was withdrawn: there is nothing to issue.")
    in_force = session.scalar(
        select(Credential.id)
        .where(Credential.achievement_id == achievement.id, Credential.revoked_at.is_(None))
        .limit(1)
    )
    if in_force is None:
        raise OfferError(error, "This credential was revoked: there is nothing to issue.")
    return achievement


def claim_exchange(session: Session, exchange: str, now: dt.datetime | None = None) -> WalletOffer:
    """Use an offer up through its VC-API exchange, once (`OfferError` otherwise). Flushes."""
    now = now or utcnow()
    offer = exchange_offer(session, exchange, now)
    claimed = session.execute(
        update(WalletOffer)
        .where(WalletOffer.id == offer.id, WalletOffer.redeemed_at.is_(None))
        .values(redeemed_at=now, protocol=VC_API)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise OfferError("invalid_grant", "This exchange was used already.")
    session.refresh(offer)
    return offer


def exchange_offer(session: Session, exchange: str, now: dt.datetime | None = None) -> WalletOffer:
    """The offer of an exchange handle while it is open (`OfferError("invalid_grant")`)."""
    offer = session.scalar(select(WalletOffer).where(WalletOffer.exchange_hash == digest(exchange)))
    if offer is None or offer.redeemed_at is not None or offer.expires_at <= (now or utcnow()):
        raise OfferError("invalid_grant", "This exchange is unknown, used or expired.")
    return offer


def issue_to_holder(
    session: Session,
    settings: IssuerSettings,
    offer: WalletOffer,
    holder_did: str,
    now: dt.datetime | None = None,
) -> Issued:
    """Sign a new credential of the offer's level bound to `holder_did`, once per offer; refused
    (`OfferError("credential_request_denied")`) if the level was withdrawn or its credentials
    revoked. Flushes."""
    now = now or utcnow()
    achievement = _standing(session, offer, "credential_request_denied")
    claimed = session.execute(
        update(WalletOffer)
        .where(WalletOffer.id == offer.id, WalletOffer.holder_did.is_(None))
        .values(holder_did=holder_did)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise OfferError("invalid_token", "This offer was picked up already.")
    try:
        issued = awards.issue_for_achievement(
            session, settings, achievement, learner_did=holder_did
        )
    except ValueError as error:  # refused by the builder or the signer (nothing stored)
        raise OfferError("credential_request_denied", f"It cannot be issued: {error}") from None
    session.refresh(offer)
    offer.credential_id = issued.credential.id
    offer.picked_up_at = now
    session.flush()
    return issued


def pickups(session: Session, credential_ids: list[str]) -> dict[str, dt.datetime]:
    """When each of these credentials went into a wallet (those that did)."""
    if not credential_ids:
        return {}
    rows = session.execute(
        select(WalletOffer.credential_id, WalletOffer.picked_up_at).where(
            WalletOffer.credential_id.in_(credential_ids), WalletOffer.picked_up_at.is_not(None)
        )
    )
    return {credential_id: at for credential_id, at in rows if credential_id and at}
