"""Wallet pick-up: a learner's single-use offer to put a credential in a wallet, and the proof
nonces wallets sign. Only SHA-256 hashes of secrets are stored (offer handle, pre-authorized
code, exchange handle, access token, nonce)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.orm import Base, created_at, intpk

sha256_hex = String(64)


class WalletOffer(Base):
    """One credential offered to one wallet, by OpenID4VCI (offer URI, pre-authorized code, access
    token) or by a VC-API exchange (exchange URL): whichever is used first uses it up. Once the
    wallet has it, `credential_id` is the new credential bound to `holder_did`."""

    __tablename__ = "wallet_offers"
    __table_args__ = (Index("ix_wallet_offers_credential_id", "credential_id"),)

    id: Mapped[intpk]
    handle_hash: Mapped[str] = mapped_column(sha256_hex, unique=True)
    code_hash: Mapped[str] = mapped_column(sha256_hex, unique=True)
    exchange_hash: Mapped[str] = mapped_column(sha256_hex, unique=True)
    tx_code_hash: Mapped[str | None] = mapped_column(sha256_hex)
    tx_code_failures: Mapped[int] = mapped_column(default=0)
    token_hash: Mapped[str | None] = mapped_column(sha256_hex, unique=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    achievement_id: Mapped[int] = mapped_column(
        ForeignKey("level_achievements.id", ondelete="CASCADE")
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    redeemed_at: Mapped[dt.datetime | None]
    token_expires_at: Mapped[dt.datetime | None]
    protocol: Mapped[str | None] = mapped_column(String(20))
    holder_did: Mapped[str | None] = mapped_column(Text)
    credential_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("credentials.id", ondelete="RESTRICT")
    )
    picked_up_at: Mapped[dt.datetime | None]


class WalletNonce(Base):
    """A `c_nonce` a wallet must sign into its proof: used once (deleted), or it expires."""

    __tablename__ = "wallet_nonces"
    __table_args__ = (Index("ix_wallet_nonces_expires_at", "expires_at"),)

    nonce_hash: Mapped[str] = mapped_column(sha256_hex, primary_key=True)
    expires_at: Mapped[dt.datetime]
