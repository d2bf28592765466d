"""What credentials show (issue 14): `people.show_name_in_credentials` (the learner's choice to show
their name in their credentials; off by default) and `judgements.show_in_credential` (the evaluator
ticked "show in the credential": the comment goes into the credential's evidence); an index on
`credentials (level_id, issued_at)` for a level's badge picture, drawn from its newest credential.

Revision ID: 20261202_credential_display
Revises: 20261202_framework_identity
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_credential_display"
down_revision: str | None = "20261202_framework_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "people",
        sa.Column(
            "show_name_in_credentials", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "judgements",
        sa.Column("show_in_credential", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        op.f("ix_credentials_level_id_issued_at"), "credentials", ["level_id", "issued_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_credentials_level_id_issued_at"), table_name="credentials")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of `judgements` would drop the table
    # that `evidence_submissions` refers to, which SQLite refuses.
    op.drop_column("judgements", "show_in_credential")
    op.drop_column("people", "show_name_in_credentials")
