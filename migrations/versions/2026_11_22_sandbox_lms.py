"""sandbox lms

Revision ID: 20261122_sandbox
Revises: c03e8b0d1378
Create Date: 2026-11-22 20:27:38.715228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lms_plugin.orm

revision: str = "20261122_sandbox"
down_revision: str | None = "c03e8b0d1378"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column(
            "scopes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("expires_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sandbox_access_tokens_token_hash")),
    )
    op.create_table(
        "sandbox_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_courses")),
        sa.UniqueConstraint("context_id", name=op.f("uq_sandbox_courses_context_id")),
    )
    op.create_table(
        "sandbox_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column(
            "public_jwk", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_sandbox_keys_kid")),
    )
    op.create_table(
        "sandbox_used_nonces",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("expires_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sandbox_used_nonces")),
    )
    op.create_table(
        "sandbox_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("given_name", sa.String(length=255), nullable=False),
        sa.Column("family_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_users")),
        sa.UniqueConstraint("user_id", name=op.f("uq_sandbox_users_user_id")),
    )
    op.create_table(
        "sandbox_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["sandbox_courses.id"],
            name=op.f("fk_sandbox_memberships_course_id_sandbox_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["sandbox_users.id"],
            name=op.f("fk_sandbox_memberships_user_id_sandbox_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_memberships")),
        sa.UniqueConstraint(
            "course_id", "user_id", name=op.f("uq_sandbox_memberships_course_id_user_id")
        ),
    )
    op.create_table(
        "sandbox_resource_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("target_link_uri", sa.String(length=2048), nullable=False),
        sa.Column(
            "custom", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["sandbox_courses.id"],
            name=op.f("fk_sandbox_resource_links_course_id_sandbox_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_resource_links")),
        sa.UniqueConstraint(
            "resource_link_id", name=op.f("uq_sandbox_resource_links_resource_link_id")
        ),
    )
    op.create_table(
        "sandbox_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("start_date_time", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_date_time", lms_plugin.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["sandbox_courses.id"],
            name=op.f("fk_sandbox_line_items_course_id_sandbox_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_link_id"],
            ["sandbox_resource_links.id"],
            name=op.f("fk_sandbox_line_items_resource_link_id_sandbox_resource_links"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_line_items")),
    )
    op.create_table(
        "sandbox_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=True),
        sa.Column("score_maximum", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("activity_progress", sa.String(length=40), nullable=False),
        sa.Column("grading_progress", sa.String(length=40), nullable=False),
        sa.Column("timestamp", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", lms_plugin.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_item_id"],
            ["sandbox_line_items.id"],
            name=op.f("fk_sandbox_scores_line_item_id_sandbox_line_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["sandbox_users.id"],
            name=op.f("fk_sandbox_scores_user_id_sandbox_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_scores")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_scores")
    op.drop_table("sandbox_line_items")
    op.drop_table("sandbox_resource_links")
    op.drop_table("sandbox_memberships")
    op.drop_table("sandbox_users")
    op.drop_table("sandbox_used_nonces")
    op.drop_table("sandbox_keys")
    op.drop_table("sandbox_courses")
    op.drop_table("sandbox_access_tokens")
