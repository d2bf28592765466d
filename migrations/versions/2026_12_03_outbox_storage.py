"""Outbox storage (issue 17): PostgreSQL compresses `xapi_outbox.payload` with lz4, not pglz.

A judgement statement is ~1.9 KB of JSON, so its row is just over PostgreSQL's 2 KB TOAST
threshold and every one is compressed as it is written. pglz made that most of the cost of the
outbox rows of a bulk save: COPYing a 1,200-judgement save's 2,520 rows took 51-56 ms of server
CPU with pglz, 39-43 ms with lz4 or with no compression at all (`toast_tuple_target = 4080`). lz4
keeps the table as small as pglz did (845 against 832 bytes a payload on average; uncompressed
the heap is a third larger, for 30 days of retained rows). Only new values are compressed so;
rows already written stay pglz and read as before.

Skipped where the server was built without lz4 (PostgreSQL 14 and later can have it; `pg_dump
--no-toast-compression` restores a dump on such a server). Nothing on SQLite.

Revision ID: 20261203_outbox_storage
Revises: 20261203_achievement_indexes
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261203_outbox_storage"
down_revision: str | None = "20261203_achievement_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LZ4_AVAILABLE = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE xapi_outbox ALTER COLUMN payload SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE xapi_outbox ALTER COLUMN payload SET COMPRESSION default")


def _lz4_available() -> bool:
    connection = op.get_bind()
    return connection.dialect.name == "postgresql" and bool(
        connection.exec_driver_sql(LZ4_AVAILABLE).scalar()
    )
