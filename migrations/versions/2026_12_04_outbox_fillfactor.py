"""Outbox pages keep room for a claim (issue 17): `xapi_outbox` gets fillfactor 50 on PostgreSQL.

A worker claims a queued row by setting its lease (`next_attempt_at`, `lease_id`: no index reads
them), then records the outcome. With full pages (fillfactor 100) the claim's new row version
went to another page, so it was written into every index, `statement_id`'s unique index of
random UUIDs among them: with a month of delivered rows (1M, 1.9 GB) the claim's UPDATE took
half as long again as on an empty table, and draining 20,000 statements ran at 0.71-0.81 of the
empty rate. With room on the page the claim is a heap-only update (no index entry; the rows of
a batch stay on their pages): 27,000-29,000 statements/s with 1M delivered rows, against
17,000-18,000 before. Rows already written keep their pages; new ones are written with room.

The price is disk: a page takes about half as many new rows as before (a judgement statement's
row is ~1 KB, its payload compressed); the bench's 1M delivered rows take 4.2 GB instead of 1.9
(the retention setting bounds how many are kept). Less room than half a page would not do: a
claim takes 500 consecutive rows, all on the same pages, and their old versions stay until it
commits. Nothing on SQLite.

Revision ID: 20261204_outbox_fillfactor
Revises: 20261203_outbox_storage
Create Date: 2026-12-04 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_outbox_fillfactor"
down_revision: str | None = "20261203_outbox_storage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE xapi_outbox SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE xapi_outbox RESET (fillfactor)")
