"""Wallet pick-up: OpenID4VCI offers, nonces and VC-API exchanges (issue 16).

`wallet_offers`: a learner's single-use offer of one credential to a wallet (hashes of its offer
handle, pre-authorized code, exchange handle and access token; the credential issued to the
wallet's DID); `wallet_nonces`: the hashed, single-use `c_nonce`s of proofs.

Revision ID: 20261202_wallet_pickup
Revises: 20261202_credential_display
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms_plugin.orm import UTCDateTime

revision: str = "20261202_wallet_pickup"
down_revision: str | None = "20261202_credential_display"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("exchange_hash", sa.String(length=64), nullable=False),
        sa.Column("tx_code_hash", sa.String(length=64), nullable=True),
        sa.Column("tx_code_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("token_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("protocol", sa.String(length=20), nullable=True),
        sa.Column("holder_did", sa.Text(), nullable=True),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("picked_up_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["level_achievements.id"],
            name=op.f("fk_wallet_offers_achievement_id_level_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_wallet_offers_credential_id_credentials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["people.id"],
            name=op.f("fk_wallet_offers_learner_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_offers")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_wallet_offers_code_hash")),
        sa.UniqueConstraint("exchange_hash", name=op.f("uq_wallet_offers_exchange_hash")),
        sa.UniqueConstraint("handle_hash", name=op.f("uq_wallet_offers_handle_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_wallet_offers_token_hash")),
    )
    op.create_index(
        "ix_wallet_offers_credential_id", "wallet_offers", ["credential_id"], unique=False
    )
    op.create_table(
        "wallet_nonces",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_wallet_nonces")),
    )
    op.create_index("ix_wallet_nonces_expires_at", "wallet_nonces", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_wallet_nonces_expires_at", table_name="wallet_nonces")
    op.drop_table("wallet_nonces")
    op.drop_index("ix_wallet_offers_credential_id", table_name="wallet_offers")
    op.drop_table("wallet_offers")
