"""Registration invites (placeholder: filled in by the registration work).

Revision ID: 20261201_invites
Revises: 20261201_achievements
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

revision: str = "20261201_invites"
down_revision: str | None = "20261201_achievements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
