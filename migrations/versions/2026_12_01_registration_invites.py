"""Registration invites: single-use, expiring dynamic registration links (token kept as SHA-256).

Revision ID: 20261201_invites
Revises: 20261201_achievements
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261201_invites"
down_revision: str | None = "20261201_achievements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_registration_invites_platform_id_platforms"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_invites")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_registration_invites_token_sha256")),
    )


def downgrade() -> None:
    op.drop_table("registration_invites")
