"""Deployment policy per platform (placeholder: filled in by the platform work).

Revision ID: 20261201_deployments
Revises: 20261201_issuers
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

revision: str = "20261201_deployments"
down_revision: str | None = "20261201_issuers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
