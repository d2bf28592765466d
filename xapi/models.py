"""The transactional outbox of xAPI statements and the LRS each platform delivers to."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.orm import Base, created_at, in_state, intpk, str36, url, utcnow

STATES = ("queued", "delivered", "dead")


class LrsEndpoint(Base):
    """An LRS for a platform, or for one deployment of it; the password is stored encrypted."""

    __tablename__ = "lrs_endpoints"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[intpk]
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    endpoint: Mapped[url]
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    xapi_version: Mapped[str] = mapped_column(String(10), default="1.0.3")
    created_at: Mapped[created_at]

    def __repr__(self) -> str:
        return (
            f"LrsEndpoint(id={self.id!r}, platform_id={self.platform_id!r}, "
            f"deployment_id={self.deployment_id!r}, endpoint={self.endpoint!r})"
        )


class OutboxStatement(Base):
    """An xAPI statement queued, delivered or dead, written in the transaction that caused it.

    `payload` holds the exact JSON text, written once and sent unchanged on every attempt (so a
    retry is a duplicate the LRS accepts, never a conflict). `id` orders the outbox (a voided
    statement goes before the statement voiding it); `statement_id` is the xAPI id. A worker
    claims due rows by pushing `next_attempt_at` ahead by its lease and stamping `lease_id`; it
    records a result only while the lease is still its own.
    """

    __tablename__ = "xapi_outbox"
    # Partial indexes: the claim, the queued and dead counts and the purge each read only the
    # rows of their state, never the (retention-bounded, but large) delivered history.
    # On PostgreSQL `payload` is compressed with lz4, set by migration 20261203_outbox_storage
    # (SQLAlchemy has no column option for it): pglz was a quarter of the work of writing rows.
    # Pages half full (migration 20261204_outbox_fillfactor): a claim's new row version stays on
    # its page, so it is written into no index.
    __table_args__ = (
        Index("ix_xapi_outbox_queued", "id", **in_state("queued")),
        Index("ix_xapi_outbox_dead", "id", **in_state("dead")),
        Index("ix_xapi_outbox_delivered_at", "delivered_at", **in_state("delivered")),
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[intpk]
    statement_id: Mapped[str36] = mapped_column(unique=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    # Where the row goes (the LRS of this platform, or of this deployment), not foreign keys:
    # a bulk save writes 2,500 rows, and checking two keys a row was a sixth of its time on
    # PostgreSQL (migration 20261204_outbox_routing). They are written in the transaction that
    # reads the placement's platform and deployment, and neither is ever deleted.
    platform_id: Mapped[int | None]
    deployment_id: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_id: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    delivered_at: Mapped[dt.datetime | None]


class OutboxTally(Base):
    """How many rows of an outbox are in a state whose rows pile up (delivered xAPI statements:
    a month of them at the default retention), so that a count reads one row, not the history.

    Kept exact in the transactions that move rows into and out of that state (`xapi.outbox`:
    marking a batch delivered, purging); enqueueing never touches it, so it adds no shared row
    to the transaction of a judgement. A missing row is a tally of 0.
    """

    __tablename__ = "outbox_tallies"

    outbox: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
