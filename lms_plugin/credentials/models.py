"""Issued credentials and the Bitstring Status Lists that revoke them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.orm import Base, created_at, in_state, str36


class StatusList(Base):
    """A Bitstring Status List; `bits` is the raw (uncompressed) bitstring. Verifiers want a list
    signed by the credential's own issuer: each issuer profile has its lists (none: the tool's)."""

    __tablename__ = "status_lists"

    id: Mapped[str36] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    updated_at: Mapped[created_at]
    # No ON DELETE clause: SQLite can add this column (and reflect it) only without one.
    issuer_profile_id: Mapped[int | None] = mapped_column(ForeignKey("issuer_profiles.id"))


class Credential(Base):
    """A signed OpenBadgeCredential for one level achievement; `document` is the JSON issued."""

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_index"),
        # A level's badge picture is drawn from its newest credential (`issuance.level_badge`).
        Index("ix_credentials_level_id_issued_at", "level_id", "issued_at"),
    )

    id: Mapped[str36] = mapped_column(primary_key=True)
    # Indexed: a withdrawn level revokes its achievement's credentials (and a reissue reads them).
    achievement_id: Mapped[int] = mapped_column(
        ForeignKey("level_achievements.id", ondelete="RESTRICT"), index=True
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    level_id: Mapped[int] = mapped_column(ForeignKey("framework_levels.id", ondelete="RESTRICT"))
    key_id: Mapped[int] = mapped_column(ForeignKey("tool_keys.id", ondelete="RESTRICT"))
    status_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id", ondelete="RESTRICT"))
    status_index: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[created_at]
    valid_until: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)


DONE_REQUEST_STATES = ("issued", "cancelled")


class CredentialRequest(Base):
    """A credential to issue for a level achievement, written in the judgement's transaction and
    signed after commit by the worker (signing is kept out of the evaluator's request)."""

    __tablename__ = "credential_requests"
    __table_args__ = (
        Index("ix_credential_requests_queued", "id", **in_state("queued")),
        Index("ix_credential_requests_done", "state", "done_at", **in_state(*DONE_REQUEST_STATES)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: a withdrawn level cancels its achievement's queued requests.
    achievement_id: Mapped[int] = mapped_column(
        ForeignKey("level_achievements.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default="queued")
    credential_id: Mapped[str | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    done_at: Mapped[dt.datetime | None]
