"""One active achievement per learner, placement and level: a partial unique index.

Concurrent judging could record the same level twice before judging was serialized per learner;
such duplicates are withdrawn first (the earliest stays active), or the index could not be built.

Revision ID: 20261201_achievements
Revises: 20261122_credentials
Create Date: 2026-12-01 03:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261201_achievements"
down_revision: str | None = "20261122_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("withdrawn_at IS NULL")


def upgrade() -> None:
    achievements = sa.table(
        "level_achievements",
        sa.column("id", sa.Integer()),
        sa.column("resource_link_id", sa.Integer()),
        sa.column("learner_id", sa.Integer()),
        sa.column("level_id", sa.Integer()),
        sa.column("withdrawn_at", lms_plugin.orm.UTCDateTime(timezone=True)),
    )
    earlier = achievements.alias("earlier")
    op.execute(
        achievements.update()
        .where(
            achievements.c.withdrawn_at.is_(None),
            sa.exists().where(
                earlier.c.resource_link_id == achievements.c.resource_link_id,
                earlier.c.learner_id == achievements.c.learner_id,
                earlier.c.level_id == achievements.c.level_id,
                earlier.c.withdrawn_at.is_(None),
                earlier.c.id < achievements.c.id,
            ),
        )
        .values(withdrawn_at=dt.datetime.now(dt.UTC))
    )
    with op.batch_alter_table("level_achievements", schema=None) as batch_op:
        batch_op.create_index(
            "uq_level_achievements_active",
            ["resource_link_id", "learner_id", "level_id"],
            unique=True,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("level_achievements", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_level_achievements_active", postgresql_where=ACTIVE, sqlite_where=ACTIVE
        )
