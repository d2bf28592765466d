"""Issuer profiles per platform or deployment, each with its own credentials keys and status lists.

Credentials issued before keep their tool-wide key and status lists (`issuer_profile_id` NULL).
Downgrading drops the profiles: their keys are retired first, so none of them becomes the tool's
signing key.

Revision ID: 20261201_issuers
Revises: 20261201_invites
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.orm

revision: str = "20261201_issuers"
down_revision: str | None = "20261201_invites"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issuer_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_issuer_profiles_deployment_id_deployments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_issuer_profiles_platform_id_platforms"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_profiles")),
        sa.UniqueConstraint(
            "platform_id",
            "deployment_id",
            name=op.f("uq_issuer_profiles_platform_id_deployment_id"),
        ),
        sa.UniqueConstraint("slug", name=op.f("uq_issuer_profiles_slug")),
    )
    # One platform-wide profile per platform (NULLs are distinct in the constraint above).
    op.create_index(
        "uq_issuer_profiles_platform_default",
        "issuer_profiles",
        ["platform_id"],
        unique=True,
        sqlite_where=sa.text("deployment_id IS NULL"),
        postgresql_where=sa.text("deployment_id IS NULL"),
    )
    for table in ("tool_keys", "status_lists"):
        _add_profile_column(table)


def _add_profile_column(table: str) -> None:
    name = f"fk_{table}_issuer_profile_id_issuer_profiles"
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN with an inline REFERENCES (no ON DELETE: SQLAlchemy reflects none there):
        # rebuilding the table (batch mode) fails on SQLite once credentials refer to its rows.
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN issuer_profile_id INTEGER CONSTRAINT {name} "
            "REFERENCES issuer_profiles (id)"
        )
        return
    op.add_column(table, sa.Column("issuer_profile_id", sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, "issuer_profiles", ["issuer_profile_id"], ["id"])


def downgrade() -> None:
    tool_keys = sa.table(
        "tool_keys",
        sa.column("issuer_profile_id", sa.Integer()),
        sa.column("retired_at", lms_plugin.orm.UTCDateTime(timezone=True)),
    )
    op.execute(
        tool_keys.update()
        .where(tool_keys.c.issuer_profile_id.is_not(None), tool_keys.c.retired_at.is_(None))
        .values(retired_at=lms_plugin.orm.utcnow())
    )
    for table in ("status_lists", "tool_keys"):
        if op.get_bind().dialect.name != "sqlite":  # SQLite drops an inline REFERENCES with it
            op.drop_constraint(
                f"fk_{table}_issuer_profile_id_issuer_profiles", table, type_="foreignkey"
            )
        op.drop_column(table, "issuer_profile_id")
    op.drop_index("uq_issuer_profiles_platform_default", table_name="issuer_profiles")
    op.drop_table("issuer_profiles")
