"""The sandbox LRS's received statements (`sandbox_lrs_statements`).

Revision ID: 20261201_sandbox_lrs
Revises: 20261201_roster
Create Date: 2026-12-01 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms_plugin.orm import UTCDateTime

revision: str = "20261201_sandbox_lrs"
down_revision: str | None = "20261201_roster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_lrs_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("course_iri", sa.String(length=2048), nullable=True),
        sa.Column("course_title", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("stored_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_lrs_statements")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_sandbox_lrs_statements_statement_id")),
    )
    op.create_index(
        op.f("ix_sandbox_lrs_statements_course_iri"),
        "sandbox_lrs_statements",
        ["course_iri"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_lrs_statements_course_iri"), table_name="sandbox_lrs_statements")
    op.drop_table("sandbox_lrs_statements")
