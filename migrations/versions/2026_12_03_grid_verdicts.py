"""Current verdicts kept on write (issue 17): `current_judgements`, one row a judged cell with a copy
of its latest judgement, filled here from the judgements recorded so far; the grid reads it
instead of every judgement of the link.

Revision ID: 20261203_grid_verdicts
Revises: 20261202_wallet_pickup
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261203_grid_verdicts"
down_revision: str | None = "20261202_wallet_pickup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each cell's highest id: the judgement that decides its verdict.
FILL = (
    "INSERT INTO current_judgements (judgement_id, resource_link_id, learner_id, statement_id, "
    "verdict, comment, evidence_url, show_in_credential, judged_by_id, judged_at) "
    "SELECT id, resource_link_id, learner_id, statement_id, verdict, comment, evidence_url, "
    "show_in_credential, judged_by_id, judged_at FROM judgements WHERE id IN ("
    "SELECT max(id) FROM judgements GROUP BY resource_link_id, learner_id, statement_id)"
)


def upgrade() -> None:
    op.create_table(
        "current_judgements",
        sa.Column("resource_link_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("judgement_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("evidence_url", sa.String(length=2048), nullable=True),
        sa.Column("show_in_credential", sa.Boolean(), nullable=False),
        sa.Column("judged_by_id", sa.Integer(), nullable=False),
        sa.Column("judged_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_link_id", "learner_id", "statement_id", name=op.f("pk_current_judgements")
        ),
        sqlite_with_rowid=False,
    )
    op.execute(FILL)
    op.create_index(
        "ix_current_judgements_newest",
        "current_judgements",
        ["resource_link_id", "judgement_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_current_judgements_newest", table_name="current_judgements")
    op.drop_table("current_judgements")
