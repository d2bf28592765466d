"""Roster sync state (placeholder: filled in by the roster work, or left empty).

Revision ID: 20261201_roster
Revises: 20261201_scores
Create Date: 2026-12-01 04:25:00
"""

from collections.abc import Sequence

revision: str = "20261201_roster"
down_revision: str | None = "20261201_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
