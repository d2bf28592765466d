"""xAPI outbox: an integer id that orders the outbox, the xAPI statement id as its own unique
column, and the lease a delivery worker holds on a row.

Nothing wrote to `xapi_outbox` before this revision, so the table is dropped and created again
(the primary key changes type). Downgrading drops the outbox rows.

Revision ID: 20261122_xapi
Revises: 20261122_assessment
Create Date: 2026-11-22 20:57:06.270409
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261122_xapi"
down_revision: str | None = "20261122_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _foreign_keys() -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_xapi_outbox_deployment_id_deployments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_xapi_outbox_platform_id_platforms"),
            ondelete="RESTRICT",
        ),
    ]


def _drop_outbox() -> None:
    with op.batch_alter_table("xapi_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_xapi_outbox_due")
    op.drop_table("xapi_outbox")


def upgrade() -> None:
    _drop_outbox()
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_id", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_outbox_statement_id")),
    )
    with op.batch_alter_table("xapi_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_xapi_outbox_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    _drop_outbox()
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        *_foreign_keys(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
    )
    with op.batch_alter_table("xapi_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_xapi_outbox_due", ["state", "next_attempt_at"], unique=False)
