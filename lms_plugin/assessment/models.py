"""Append-only judgements, the level achievements derived from them, and the evidence learners
submit for their evaluators."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.orm import Base, intpk, utcnow

VERDICTS = ("met", "not_yet", "clear")


class Judgement(Base):
    """One evaluator's verdict on one learner for one statement. Rows are never updated or deleted:
    a later judgement of the same cell supersedes this one."""

    __tablename__ = "judgements"
    __table_args__ = (
        CheckConstraint("verdict IN ('met', 'not_yet', 'clear')", name="verdict"),
        # The order that decides a cell's current judgement (latest id), read backwards by the
        # grid's current verdicts and a cell's history; on PostgreSQL it carries the verdict, so
        # verdicts alone come from the index without reading the table.
        Index(
            "ix_judgements_cell",
            "resource_link_id",
            "learner_id",
            "statement_id",
            "id",
            postgresql_include=["verdict"],
        ),
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
    # Set on a copy recorded when the placement moved to a newer framework version: the judgement
    # of the same statement text in the earlier version (assessment/version_move.py).
    # (NO ACTION, not RESTRICT: checked at the end of a statement, so a statement deleting both
    # rows, as the tests' clean-up does, is not refused.)
    carried_over_from_id: Mapped[int | None] = mapped_column(ForeignKey("judgements.id"))
    # The evaluator ticked "show in the credential": the comment goes into its evidence.
    show_in_credential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    judged_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    judged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CurrentJudgement(Base):
    """The latest judgement of each judged cell (learner x statement) of a placement: a copy of its
    columns, kept on write in the transaction that records it (`assessment.current_cells`), so
    that current verdicts are read one row a cell whatever the length of the history. Cleared
    cells keep their row (verdict "clear")."""

    __tablename__ = "current_judgements"
    __table_args__ = (
        # A link's newest judgement, and the cells judged since one, from the index alone.
        Index("ix_current_judgements_newest", "resource_link_id", "judgement_id"),
        # SQLite keeps the rows in the primary key's order: a link's cells are read in one run.
        {"sqlite_with_rowid": False},
    )

    resource_link_id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the row is copied from the judgement itself, and checking one would cost
    # a lookup per cell on every write.
    judgement_id: Mapped[int]
    verdict: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2048))
    show_in_credential: Mapped[bool] = mapped_column(Boolean)
    judged_by_id: Mapped[int]
    judged_at: Mapped[dt.datetime]


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


class EvidenceSubmission(Base):
    """Evidence a learner submitted for one statement of one placement: a link and a note. Rows are
    never updated or deleted (history). A submission is waiting until a judgement of its cell
    (learner x statement) is recorded after it, that is, one newer than `last_judgement_id`."""

    __tablename__ = "evidence_submissions"
    __table_args__ = (
        Index(
            "ix_evidence_submissions_cell", "resource_link_id", "learner_id", "statement_id", "id"
        ),
    )

    id: Mapped[intpk]
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="RESTRICT")
    )
    learner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("framework_statements.id", ondelete="RESTRICT")
    )
    url: Mapped[str] = mapped_column(String(2048))
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_judgement_id: Mapped[int | None] = mapped_column(
        ForeignKey("judgements.id", ondelete="RESTRICT")
    )
    """The cell's latest judgement when this was submitted (None: never judged)."""
