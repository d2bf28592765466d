"""Roster sync state: `roster_syncs`, one row per course whose roster (NRPS) the worker reads
(requested by a staff launch, leased, resumed page by page after a failure).

Revision ID: 20261201_roster
Revises: 20261201_scores
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms_plugin.orm import UTCDateTime

revision: str = "20261201_roster"
down_revision: str | None = "20261201_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_syncs",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_url", sa.String(length=2048), nullable=True),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("members", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_roster_syncs_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_roster_syncs")),
    )


def downgrade() -> None:
    op.drop_table("roster_syncs")
