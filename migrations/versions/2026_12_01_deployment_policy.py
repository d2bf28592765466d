"""Deployment policy per platform: `platforms.any_deployment` (deployments not listed are recorded
from their first valid launch) and `deployments.from_launch` (this one was).

Platforms registered dynamically before (through an invite) get `any_deployment`: their
registration named no deployment, or only the first (Canvas makes one per install).

Revision ID: 20261201_deployments
Revises: 20261201_issuers
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_deployments"
down_revision: str | None = "20261201_issuers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, also on SQLite: rebuilding `platforms` would cascade to its children.
    op.add_column(
        "platforms",
        sa.Column("any_deployment", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "deployments",
        sa.Column("from_launch", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE platforms SET any_deployment = TRUE WHERE id IN "
        "(SELECT platform_id FROM registration_invites WHERE platform_id IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_column("deployments", "from_launch")
    op.drop_column("platforms", "any_deployment")
