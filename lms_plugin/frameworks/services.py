"""Framework operations on a session: import (idempotent, versioned) and listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lms_plugin.frameworks.models import Framework, FrameworkVersion, Level, Statement
from lms_plugin.frameworks.parsing import ParsedFramework

ImportAction = Literal["created", "new_version", "unchanged"]


@dataclass(frozen=True)
class ImportResult:
    source: str
    action: ImportAction
    version: FrameworkVersion


def import_frameworks(session: Session, parsed: Iterable[ParsedFramework]) -> list[ImportResult]:
    """Import validated framework files; flushes, the caller commits.

    A file whose content is already stored (for that SOC code) changes nothing; changed content
    becomes a new version with the next revision number. Versions are never modified.
    """
    return [import_framework(session, item) for item in parsed]


def import_framework(session: Session, parsed: ParsedFramework) -> ImportResult:
    framework = session.scalar(select(Framework).where(Framework.soc == parsed.soc))
    sha = parsed.content_sha256
    if framework is None:
        framework = Framework(soc=parsed.soc, title=parsed.title)
        session.add(framework)
        session.flush()
        action: ImportAction = "created"
    else:
        existing = session.scalar(
            select(FrameworkVersion).where(
                FrameworkVersion.framework_id == framework.id,
                FrameworkVersion.content_sha256 == sha,
            )
        )
        if existing is not None:
            return ImportResult(parsed.source, "unchanged", existing)
        action = "new_version"
    last = session.scalar(
        select(func.max(FrameworkVersion.revision)).where(
            FrameworkVersion.framework_id == framework.id
        )
    )
    version = FrameworkVersion(
        framework=framework,
        revision=(last or 0) + 1,
        version_label=parsed.version,
        title=parsed.title,
        content_sha256=sha,
        schema_version=parsed.schema_version,
        description=parsed.description,
        context_covered=parsed.context_covered,
        occupation=parsed.occupation,
        sources=parsed.sources,
        attribution=parsed.attribution,
        exported_at=parsed.exported_at,
        source_name=parsed.source[:255],
        levels=[
            Level(
                key=level.key,
                label=level.label,
                position=position,
                statements=[
                    Statement(position=index, text=text)
                    for index, text in enumerate(level.statements)
                ],
            )
            for position, level in enumerate(parsed.levels)
        ],
    )
    framework.title = parsed.title
    session.add(version)
    session.flush()
    return ImportResult(parsed.source, action, version)


def _with_content() -> tuple[object, ...]:
    return (
        selectinload(FrameworkVersion.framework),
        selectinload(FrameworkVersion.levels).selectinload(Level.statements),
    )


def list_versions(session: Session) -> Sequence[FrameworkVersion]:
    """Every stored version with its levels and statements, by SOC code then revision."""
    query = (
        select(FrameworkVersion)
        .join(FrameworkVersion.framework)
        .options(*_with_content())
        .order_by(Framework.soc, FrameworkVersion.revision)
    )
    return session.scalars(query).all()


def current_versions(session: Session) -> Sequence[FrameworkVersion]:
    """The newest version of each framework, with levels and statements, by title."""
    newest = (
        select(FrameworkVersion.framework_id, func.max(FrameworkVersion.revision).label("revision"))
        .group_by(FrameworkVersion.framework_id)
        .subquery()
    )
    query = (
        select(FrameworkVersion)
        .join(
            newest,
            (newest.c.framework_id == FrameworkVersion.framework_id)
            & (newest.c.revision == FrameworkVersion.revision),
        )
        .options(*_with_content())
        .order_by(FrameworkVersion.title, FrameworkVersion.id)
    )
    return session.scalars(query).all()


def get_version(session: Session, version_id: int) -> FrameworkVersion | None:
    """One version with its levels and statements, or None."""
    query = select(FrameworkVersion).where(FrameworkVersion.id == version_id)
    return session.scalar(query.options(*_with_content()))


def version_summary(version: FrameworkVersion) -> dict[str, object]:
    """The JSON shape `lms-plugin frameworks list --json` prints for one version."""
    return {
        "id": version.id,
        "soc": version.framework.soc,
        "title": version.title,
        "version": version.version_label,
        "revision": version.revision,
        "levels": [
            {"key": level.key, "label": level.label, "statements": len(level.statements)}
            for level in version.levels
        ],
    }
