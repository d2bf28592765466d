"""Platform registrations, tool keys, courses, resource links, people and launch state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms_plugin.orm import Base, created_at, in_state, intpk, str255, url


class Platform(Base):
    """An LMS registration: one issuer + client id (one Canvas developer key, one Moodle tool)."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[intpk]
    issuer: Mapped[url]
    client_id: Mapped[str255]
    name: Mapped[str] = mapped_column(String(255), default="")
    auth_login_url: Mapped[url]
    auth_token_url: Mapped[url]
    jwks_url: Mapped[url]
    # Deployments not listed are recorded from their first valid launch (dynamic registration,
    # or `platform add --any-deployment`); otherwise they are refused.
    any_deployment: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[created_at]

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", order_by="Deployment.id"
    )


class Deployment(Base):
    """A deployment of the tool within a platform (LTI `deployment_id`)."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[intpk]
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str255]
    from_launch: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[created_at]

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class RegistrationInvite(Base):
    """A single-use, expiring dynamic registration link from `lms-plugin platform invite`; only
    the SHA-256 of its token is kept."""

    __tablename__ = "registration_invites"

    id: Mapped[intpk]
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))


class IssuerProfile(Base):
    """Who credentials of a platform (or of one deployment, which overrides the platform's) name
    as their issuer; `slug` is its did:web path (`did:web:<tool host>:issuers:<slug>`), and it
    signs with its own credentials keys (`ToolKey.issuer_profile_id`)."""

    __tablename__ = "issuer_profiles"
    __table_args__ = (
        UniqueConstraint("platform_id", "deployment_id"),
        Index(
            "uq_issuer_profiles_platform_default",
            "platform_id",
            unique=True,
            sqlite_where=text("deployment_id IS NULL"),
            postgresql_where=text("deployment_id IS NULL"),
        ),
    )

    id: Mapped[intpk]
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="RESTRICT"))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="RESTRICT")
    )
    name: Mapped[str255]
    url: Mapped[str | None] = mapped_column(String(2048))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]


class Course(Base):
    """An LTI context (a course) on one platform."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[intpk]
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="RESTRICT"))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="RESTRICT")
    )
    context_id: Mapped[str255]
    title: Mapped[str] = mapped_column(String(500), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[created_at]


class ResourceLink(Base):
    """A placement of the tool in a course, with the framework version and levels in scope."""

    __tablename__ = "resource_links"
    __table_args__ = (
        UniqueConstraint("course_id", "resource_link_id"),
        CheckConstraint("threshold_percent BETWEEN 1 AND 100", name="threshold_percent"),
    )

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    resource_link_id: Mapped[str255]
    title: Mapped[str] = mapped_column(String(500), default="")
    framework_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="RESTRICT")
    )
    level_keys: Mapped[list[str] | None]
    line_item_url: Mapped[str | None] = mapped_column(String(2048))
    line_items_url: Mapped[str | None] = mapped_column(String(2048))
    threshold_percent: Mapped[int] = mapped_column(default=100, server_default="100")
    require_lower_levels: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[created_at]


class Person(Base):
    """Someone an LMS launched or listed, identified by platform issuer + LTI `sub`."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[intpk]
    issuer: Mapped[url]
    sub: Mapped[str255]
    name: Mapped[str] = mapped_column(String(500), default="")
    given_name: Mapped[str] = mapped_column(String(255), default="")
    family_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[created_at]
    # The learner chose to show their name in their credentials (off: no name, issue 14).
    show_name_in_credentials: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class Enrollment(Base):
    """A person's roles in a course, from a launch or from the NRPS roster."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[intpk]
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    roles: Mapped[list[str]]
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[created_at]


class LaunchState(Base):
    """Short-lived OIDC state, nonces and launch data, shared by every web worker."""

    __tablename__ = "launch_state"
    __table_args__ = (Index("ix_launch_state_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime]


DONE_SCORE_STATES = ("delivered", "superseded")


class ScoreOutbox(Base):
    """A score to post to the LMS gradebook (AGS), written in the transaction that changed the
    learner's levels and posted after commit by the delivery loop; only a learner's newest score
    for a link is sent (older queued ones are superseded). `sent_timestamp` is the timestamp the
    platform accepted: the next score for that learner and link goes at least a second later
    (Moodle refuses one not later in whole seconds)."""

    __tablename__ = "score_outbox"
    __table_args__ = (
        Index("ix_score_outbox_queued", "id", **in_state("queued")),
        Index("ix_score_outbox_dead", "id", **in_state("dead")),
        Index("ix_score_outbox_done", "state", "delivered_at", **in_state(*DONE_SCORE_STATES)),
        Index("ix_score_outbox_link_learner", "resource_link_id", "learner_id"),
    )

    id: Mapped[intpk]
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="CASCADE")
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    score_given: Mapped[float]
    score_maximum: Mapped[float]
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    delivered_at: Mapped[dt.datetime | None]
    sent_timestamp: Mapped[dt.datetime | None]


class RosterSync(Base):
    """A course's roster sync (NRPS), done by the worker: a staff launch sets `requested_at`; the
    worker leases the row (`next_attempt_at` pushed ahead, `lease_id` stamped), follows the pages
    from `next_url` (None: from the start) and commits each page, so a failure resumes where it
    stopped. `finished_at` is when the roster was last read whole."""

    __tablename__ = "roster_syncs"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    requested_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime]
    lease_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    next_url: Mapped[str | None] = mapped_column(String(2048))
    pages: Mapped[int] = mapped_column(default=0, server_default="0")
    members: Mapped[int] = mapped_column(default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
