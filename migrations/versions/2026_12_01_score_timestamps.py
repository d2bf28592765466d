"""Score delivery state: `score_outbox.sent_timestamp` (the timestamp the platform accepted, so the
next score for that learner and link goes at least a second later) and an index on (link, learner)
for finding a learner's newest and last sent scores.

Revision ID: 20261201_scores
Revises: 20261201_deployments
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms_plugin.orm import UTCDateTime

revision: str = "20261201_scores"
down_revision: str | None = "20261201_deployments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "score_outbox", sa.Column("sent_timestamp", UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_score_outbox_link_learner", "score_outbox", ["resource_link_id", "learner_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_score_outbox_link_learner", table_name="score_outbox")
    op.drop_column("score_outbox", "sent_timestamp")
