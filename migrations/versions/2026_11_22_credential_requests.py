"""Credential requests: credentials are signed after commit by the worker.

Revision ID: 20261122_credentials
Revises: 20261122_xapi
Create Date: 2026-11-22 21:31:21.915739
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261122_credentials"
down_revision: str | None = "20261122_xapi"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["level_achievements.id"],
            name=op.f("fk_credential_requests_achievement_id_level_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_requests_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_requests")),
    )
    with op.batch_alter_table("credential_requests", schema=None) as batch_op:
        batch_op.create_index("ix_credential_requests_state", ["state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credential_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_requests_state")

    op.drop_table("credential_requests")
