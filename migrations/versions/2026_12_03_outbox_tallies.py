"""Outbox tallies (issue 17): how many xAPI statements are delivered, kept in one row.

Counting the delivered rows read a month of history (135 ms at 1M rows on PostgreSQL) for every
`xapi status`; the worker now keeps the tally in the transactions that deliver and purge rows.
It starts from the rows delivered so far (one count, here).

Revision ID: 20261203_outbox_tallies
Revises: 20261203_grid_verdicts
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_outbox_tallies"
down_revision: str | None = "20261203_grid_verdicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_tallies",
        sa.Column("outbox", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("outbox", "state", name=op.f("pk_outbox_tallies")),
    )
    op.execute(
        "INSERT INTO outbox_tallies (outbox, state, total) "
        "SELECT 'xapi', 'delivered', count(*) FROM xapi_outbox WHERE state = 'delivered'"
    )


def downgrade() -> None:
    op.drop_table("outbox_tallies")
