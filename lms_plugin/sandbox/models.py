"""The sandbox LMS's own data: its signing keys, one course, its people, links, grades and tokens.

Nothing here is shared with the tool's tables: the sandbox is a separate LTI platform that happens
to live in the same database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms_plugin.orm import Base, created_at, intpk, str255, url


class SandboxKey(Base):
    """An RSA key the sandbox signs id_tokens with; the private part is encrypted (SECRET_KEY)."""

    __tablename__ = "sandbox_keys"

    id: Mapped[intpk]
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, Any]]
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class SandboxCourse(Base):
    """A course (an LTI context) of the sandbox."""

    __tablename__ = "sandbox_courses"

    id: Mapped[intpk]
    context_id: Mapped[str] = mapped_column(String(255), unique=True)
    label: Mapped[str255]
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[created_at]

    memberships: Mapped[list[SandboxMembership]] = relationship(
        back_populates="course", order_by="SandboxMembership.id"
    )


class SandboxUser(Base):
    """Someone with an account in the sandbox; `user_id` is the LTI `sub` the tool sees."""

    __tablename__ = "sandbox_users"

    id: Mapped[intpk]
    user_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    given_name: Mapped[str255]
    family_name: Mapped[str255]
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[created_at]


class SandboxMembership(Base):
    """A user's role in a course: `Instructor`, `TeachingAssistant` or `Learner`."""

    __tablename__ = "sandbox_memberships"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("sandbox_users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[created_at]

    course: Mapped[SandboxCourse] = relationship(back_populates="memberships")
    user: Mapped[SandboxUser] = relationship()


class SandboxResourceLink(Base):
    """A placement of the tool in a course, created by a deep-linking response."""

    __tablename__ = "sandbox_resource_links"

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_courses.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    target_link_uri: Mapped[url]
    custom: Mapped[dict[str, Any]]
    created_at: Mapped[created_at]


class SandboxLineItem(Base):
    """A gradebook column (AGS line item), optionally bound to a resource link."""

    __tablename__ = "sandbox_line_items"

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("sandbox_courses.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("sandbox_resource_links.id", ondelete="SET NULL")
    )
    label: Mapped[str] = mapped_column(String(500))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(255))
    start_date_time: Mapped[dt.datetime | None]
    end_date_time: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]

    resource_link: Mapped[SandboxResourceLink | None] = relationship()


class SandboxScore(Base):
    """Every score the tool posted (kept as history; a user's result is their newest score)."""

    __tablename__ = "sandbox_scores"

    id: Mapped[intpk]
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_line_items.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("sandbox_users.id", ondelete="CASCADE"))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    activity_progress: Mapped[str] = mapped_column(String(40))
    grading_progress: Mapped[str] = mapped_column(String(40))
    timestamp: Mapped[dt.datetime]
    received_at: Mapped[created_at]

    user: Mapped[SandboxUser] = relationship()


class SandboxAccessToken(Base):
    """An OAuth 2.0 bearer token granted to the tool; only its SHA-256 is stored."""

    __tablename__ = "sandbox_access_tokens"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str255]
    scopes: Mapped[list[str]]
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[created_at]


class SandboxUsedNonce(Base):
    """A single-use value already seen (client-assertion `jti`, deep-link nonce and data)."""

    __tablename__ = "sandbox_used_nonces"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    expires_at: Mapped[dt.datetime]


class SandboxLrsStatement(Base):
    """An xAPI statement the sandbox LRS received (the demo's LRS; not an LRS for production).

    `body` is the statement's JSON; `course_iri` and `course_title` come from its course activity
    in `context.contextActivities.grouping`, so the viewer can show one course at a time.
    """

    __tablename__ = "sandbox_lrs_statements"

    id: Mapped[intpk]
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    course_iri: Mapped[str | None] = mapped_column(String(2048), index=True)
    course_title: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[created_at]
