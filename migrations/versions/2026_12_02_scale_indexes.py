"""Indexes and retention for institution scale (issue 17): outbox, launch state, current verdicts.

The outboxes (xAPI, scores, credential requests) get partial indexes per state, so claiming,
counting and purging never walk delivered rows; `launch_state` an index on `expires_at` for its
purge; a judgement cell's index ends with `id` (the order that decides the current verdict)
instead of `judged_at`, and on PostgreSQL carries the verdict (index-only reads of verdicts).

Revision ID: 20261202_scale_indexes
Revises: 20261201_sandbox_lrs
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_scale_indexes"
down_revision: str | None = "20261201_sandbox_lrs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where(*states: str) -> dict[str, Any]:
    listed = ", ".join(f"'{state}'" for state in states)
    where = sa.text(f"state = {listed}" if len(states) == 1 else f"state IN ({listed})")
    return {"postgresql_where": where, "sqlite_where": where}


# (table, index, columns, states of its partial WHERE (none: a whole-table index))
NEW = [
    ("xapi_outbox", "ix_xapi_outbox_queued", ["id"], ("queued",)),
    ("xapi_outbox", "ix_xapi_outbox_dead", ["id"], ("dead",)),
    ("xapi_outbox", "ix_xapi_outbox_delivered_at", ["delivered_at"], ("delivered",)),
    ("score_outbox", "ix_score_outbox_queued", ["id"], ("queued",)),
    ("score_outbox", "ix_score_outbox_dead", ["id"], ("dead",)),
    (
        "score_outbox",
        "ix_score_outbox_done",
        ["state", "delivered_at"],
        ("delivered", "superseded"),
    ),
    ("credential_requests", "ix_credential_requests_queued", ["id"], ("queued",)),
    (
        "credential_requests",
        "ix_credential_requests_done",
        ["state", "done_at"],
        ("issued", "cancelled"),
    ),
    ("launch_state", "ix_launch_state_expires_at", ["expires_at"], ()),
    (
        "judgements",
        "ix_judgements_cell",
        ["resource_link_id", "learner_id", "statement_id", "id"],
        (),
    ),
]
INCLUDE = {"ix_judgements_cell": {"postgresql_include": ["verdict"]}}
OLD = [
    ("xapi_outbox", "ix_xapi_outbox_due", ["state", "next_attempt_at"]),
    ("score_outbox", "ix_score_outbox_due", ["state", "next_attempt_at"]),
    ("credential_requests", "ix_credential_requests_state", ["state", "id"]),
    (
        "judgements",
        "ix_judgements_cell",
        ["resource_link_id", "learner_id", "statement_id", "judged_at"],
    ),
]


def upgrade() -> None:
    for table, name, _columns in OLD:
        op.drop_index(name, table_name=table)
    for table, name, columns, states in NEW:
        options = _where(*states) if states else INCLUDE.get(name, {})
        op.create_index(name, table, columns, **options)


def downgrade() -> None:
    for table, name, _columns, _states in NEW:
        op.drop_index(name, table_name=table)
    for table, name, columns in OLD:
        op.create_index(name, table, columns)
