"""The outbox names where a statement goes without foreign keys (issue 17).

`xapi_outbox.platform_id` and `deployment_id` say which LRS a row goes to. As foreign keys,
each row written cost two lookups of the referenced rows: a bulk save of 1,200 judgements that
withdraws 120 levels writes 2,520 rows, and on PostgreSQL the 5,040 checks were 20 of its ~140
ms. The rows are written in the transaction that reads the placement's platform and deployment,
and no platform or deployment is ever deleted, so the checks never refused anything. The
judgements keep theirs: they are the record; the outbox is a queue, purged after its retention.

SQLite: the table is copied without the two constraints (batch mode).

Revision ID: 20261204_outbox_routing
Revises: 20261204_outbox_fillfactor
Create Date: 2026-12-04 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261204_outbox_routing"
down_revision: str | None = "20261204_outbox_fillfactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {"platform_id": "platforms", "deployment_id": "deployments"}


def upgrade() -> None:
    with op.batch_alter_table("xapi_outbox") as batch:
        for column, table in KEYS.items():
            batch.drop_constraint(f"fk_xapi_outbox_{column}_{table}", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("xapi_outbox") as batch:
        for column, table in KEYS.items():
            batch.create_foreign_key(
                f"fk_xapi_outbox_{column}_{table}", table, [column], ["id"], ondelete="RESTRICT"
            )
