"""Evidence learners submit for a statement (issue 13): `evidence_submissions`, append-only, one
row per submission (a link and a note), waiting until its cell is judged again.

Revision ID: 20261202_learner_evidence
Revises: 20261202_scale_indexes
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms_plugin.orm import UTCDateTime

revision: str = "20261202_learner_evidence"
down_revision: str | None = "20261202_scale_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_judgement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_link_id"],
            ["resource_links.id"],
            name=op.f("fk_evidence_submissions_resource_link_id_resource_links"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["people.id"],
            name=op.f("fk_evidence_submissions_learner_id_people"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["framework_statements.id"],
            name=op.f("fk_evidence_submissions_statement_id_framework_statements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["last_judgement_id"],
            ["judgements.id"],
            name=op.f("fk_evidence_submissions_last_judgement_id_judgements"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_submissions")),
    )
    op.create_index(
        "ix_evidence_submissions_cell",
        "evidence_submissions",
        ["resource_link_id", "learner_id", "statement_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_submissions_cell", table_name="evidence_submissions")
    op.drop_table("evidence_submissions")
