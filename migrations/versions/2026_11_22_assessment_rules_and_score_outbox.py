"""Assessment: per-link level rule (threshold, lower levels first), AGS line items URL, score outbox

Revision ID: 20261122_assessment
Revises: 20261122_sandbox
Create Date: 2026-11-22 20:36:13.503132
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261122_assessment"
down_revision: str | None = "20261122_sandbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("score_given", sa.Double(), nullable=False),
        sa.Column("score_maximum", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("scored_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["people.id"],
            name=op.f("fk_score_outbox_learner_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_link_id"],
            ["resource_links.id"],
            name=op.f("fk_score_outbox_resource_link_id_resource_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_outbox")),
    )
    with op.batch_alter_table("score_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_score_outbox_due", ["state", "next_attempt_at"], unique=False)

    with op.batch_alter_table("resource_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_items_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column("threshold_percent", sa.Integer(), server_default="100", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "require_lower_levels", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.create_check_constraint("threshold_percent", "threshold_percent BETWEEN 1 AND 100")


def downgrade() -> None:
    with op.batch_alter_table("resource_links", schema=None) as batch_op:
        batch_op.drop_constraint("threshold_percent", type_="check")
        batch_op.drop_column("require_lower_levels")
        batch_op.drop_column("threshold_percent")
        batch_op.drop_column("line_items_url")

    with op.batch_alter_table("score_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_score_outbox_due")

    op.drop_table("score_outbox")
