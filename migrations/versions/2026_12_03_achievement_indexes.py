"""Achievement indexes (issue 17): `credentials.achievement_id` and
`credential_requests.achievement_id`, read when a bulk save withdraws levels (its credentials
revoked, its queued requests cancelled), which otherwise scan both tables.

Revision ID: 20261203_achievement_indexes
Revises: 20261203_outbox_tallies
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261203_achievement_indexes"
down_revision: str | None = "20261203_outbox_tallies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("credentials", "ix_credentials_achievement_id"),
    ("credential_requests", "ix_credential_requests_achievement_id"),
]


def upgrade() -> None:
    for table, name in INDEXES:
        op.create_index(name, table, ["achievement_id"])


def downgrade() -> None:
    for table, name in INDEXES:
        op.drop_index(name, table_name=table)
