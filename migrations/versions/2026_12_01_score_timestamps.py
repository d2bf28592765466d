"""Score delivery state (placeholder: filled in by the gradebook work, or left empty).

Revision ID: 20261201_scores
Revises: 20261201_deployments
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

revision: str = "20261201_scores"
down_revision: str | None = "20261201_deployments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
