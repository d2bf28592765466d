"""Append-only judgements and the level achievements derived from them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.orm import Base, intpk, utcnow

VERDICTS = ("met", "not_yet", "clear")


class Judgement(Base):
    """One evaluator's verdict on one learner for one statement. Rows are never updated or deleted:
    a later judgement of the same cell supersedes this one."""

    __tablename__ = "judgements"
    __table_args__ = (
        CheckConstraint("verdict IN ('met', 'not_yet', 'clear')", name="verdict"),
        Index("ix_judgements_cell", "resource_link_id", "learner_id", "statement_id", "judged_at"),
    )

    id: Mapped[intpk]
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="RESTRICT")
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("framework_statements.id", ondelete="RESTRICT")
    )
    verdict: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2048))
    judged_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    judged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LevelAchievement(Base):
    """A learner reached a level in a placement; `withdrawn_at` is set if a reversal undoes it.
    Re-achieving after a withdrawal is a new row; at most one row per placement, learner and level
    is active (not withdrawn)."""

    __tablename__ = "level_achievements"
    __table_args__ = (
        Index("ix_level_achievements_learner", "resource_link_id", "learner_id"),
        Index(
            "uq_level_achievements_active",
            "resource_link_id",
            "learner_id",
            "level_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
            sqlite_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[intpk]
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="RESTRICT")
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    level_id: Mapped[int] = mapped_column(ForeignKey("framework_levels.id", ondelete="RESTRICT"))
    achieved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    achieved_by_judgement_id: Mapped[int | None] = mapped_column(
        ForeignKey("judgements.id", ondelete="RESTRICT")
    )
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by_judgement_id: Mapped[int | None] = mapped_column(
        ForeignKey("judgements.id", ondelete="RESTRICT")
    )
