"""One active achievement per learner, placement and level (placeholder: filled in by the concurrency work).

Revision ID: 20261201_achievements
Revises: 20261122_credentials
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_achievements"
down_revision: str | None = "20261122_credentials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
