"""Frameworks, their immutable versions, levels and statements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms_plugin.orm import Base, created_at, intpk

STATEMENT_SEPARATOR = " — "


class Framework(Base):
    """One competency framework of an occupation, across all its versions. An occupation may have
    several (occupational, AI use, durable skills, ...): a framework is identified by its SOC code
    and `key`, its own name (see `frameworks.identity.framework_key`), never by SOC alone."""

    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("soc", "key"),)

    id: Mapped[intpk]
    soc: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(520))
    title: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[created_at]

    versions: Mapped[list[FrameworkVersion]] = relationship(
        back_populates="framework", order_by="FrameworkVersion.revision"
    )


class FrameworkVersion(Base):
    """One imported content of a framework; never changed once written (a new file = a new row)."""

    __tablename__ = "framework_versions"
    __table_args__ = (
        UniqueConstraint("framework_id", "revision"),
        UniqueConstraint("framework_id", "content_sha256"),
    )

    id: Mapped[intpk]
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="RESTRICT"))
    case_id: Mapped[str] = mapped_column(String(36), unique=True)
    """The CASE CFDocument identifier (a UUID) of this version."""
    revision: Mapped[int]
    version_label: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    content_sha256: Mapped[str] = mapped_column(String(64))
    schema_version: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    context_covered: Mapped[str] = mapped_column(Text, default="")
    occupation: Mapped[dict[str, Any]]
    sources: Mapped[dict[str, Any]]
    attribution: Mapped[str] = mapped_column(Text, default="")
    exported_at: Mapped[dt.datetime | None]
    source_name: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[created_at]

    framework: Mapped[Framework] = relationship(back_populates="versions")
    levels: Mapped[list[Level]] = relationship(
        back_populates="version", order_by="Level.position", cascade="all, delete-orphan"
    )

    @property
    def statement_count(self) -> int:
        return sum(len(level.statements) for level in self.levels)


class Level(Base):
    """A level of a framework version (e.g. "Emerging"), in the order the file gives."""

    __tablename__ = "framework_levels"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        UniqueConstraint("version_id", "position"),
    )

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(String(36), unique=True)
    """The CASE CFItem identifier (a UUID) of this level."""
    key: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(500))
    position: Mapped[int]

    version: Mapped[FrameworkVersion] = relationship(back_populates="levels")
    statements: Mapped[list[Statement]] = relationship(
        back_populates="level", order_by="Statement.position", cascade="all, delete-orphan"
    )


class Statement(Base):
    """A statement "<competency> — <performance context>"; the whole text is kept."""

    __tablename__ = "framework_statements"
    __table_args__ = (UniqueConstraint("level_id", "position"),)

    id: Mapped[intpk]
    level_id: Mapped[int] = mapped_column(ForeignKey("framework_levels.id", ondelete="CASCADE"))
    case_id: Mapped[str] = mapped_column(String(36), unique=True)
    """The CASE CFItem identifier (a UUID) of this statement."""
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)

    level: Mapped[Level] = relationship(back_populates="statements")

    @property
    def competency(self) -> str:
        """The part before the first " — " (the whole text when there is none)."""
        return self.text.partition(STATEMENT_SEPARATOR)[0]

    @property
    def performance_context(self) -> str:
        """The part after the first " — " (empty when there is none)."""
        return self.text.partition(STATEMENT_SEPARATOR)[2]
