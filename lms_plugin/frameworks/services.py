"""Framework operations on a session: import (idempotent, versioned) and listing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session, selectinload

from lms_plugin.frameworks import identity
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

    A framework is its occupation and its own name (`ParsedFramework.key`): a file whose content
    is already stored for that framework changes nothing; changed content becomes a new version
    with the next revision number; another name is another framework. Versions are never modified.
    """
    return [import_framework(session, item) for item in parsed]


def import_framework(session: Session, parsed: ParsedFramework) -> ImportResult:
    framework = session.scalar(
        select(Framework).where(Framework.soc == parsed.soc, Framework.key == parsed.key)
    )
    sha = parsed.content_sha256
    if framework is None:
        framework = Framework(soc=parsed.soc, key=parsed.key, title=parsed.title)
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
    document = identity.version_case_id(parsed.soc, parsed.key, sha)
    version = FrameworkVersion(
        framework=framework,
        case_id=document,
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
                case_id=identity.level_case_id(document, level.key),
                key=level.key,
                label=level.label,
                position=position,
                statements=[
                    Statement(
                        case_id=identity.statement_case_id(document, text),
                        position=index,
                        text=text,
                    )
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
    """Every stored version with its levels and statements, by SOC code, framework, revision."""
    query = (
        select(FrameworkVersion)
        .join(FrameworkVersion.framework)
        .options(*_with_content())
        .order_by(Framework.soc, Framework.id, FrameworkVersion.revision)
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
        "framework": version.framework_id,
        "soc": version.framework.soc,
        "title": version.title,
        "version": version.version_label,
        "revision": version.revision,
        "levels": [
            {"key": level.key, "label": level.label, "statements": len(level.statements)}
            for level in version.levels
        ],
    }


# Placements and judgements belong to other areas (which import this one): read by table name.
_placements = table("resource_links", column("id"), column("framework_version_id"))
_judgements = table("judgements", column("id"), column("statement_id"))


@dataclass(frozen=True)
class VersionUse:
    """One version of a framework and how much it is used."""

    version: FrameworkVersion
    placements: int
    judgements: int
    current: bool


def framework_versions(session: Session, framework_id: int) -> list[VersionUse]:
    """Every version of a framework, oldest first, with the activities placed on it and the
    judgements recorded against its statements."""
    versions = session.scalars(
        select(FrameworkVersion)
        .where(FrameworkVersion.framework_id == framework_id)
        .order_by(FrameworkVersion.revision)
        .options(*_with_content())
    ).all()
    ids = [v.id for v in versions]
    placements = dict(
        session.execute(
            select(_placements.c.framework_version_id, func.count())
            .where(_placements.c.framework_version_id.in_(ids))
            .group_by(_placements.c.framework_version_id)
        ).all()
    )
    judgements = dict(
        session.execute(
            select(Level.version_id, func.count())
            .select_from(_judgements)
            .join(Statement, Statement.id == _judgements.c.statement_id)
            .join(Level, Level.id == Statement.level_id)
            .where(Level.version_id.in_(ids))
            .group_by(Level.version_id)
        ).all()
    )
    last = versions[-1].id if versions else None
    return [
        VersionUse(v, placements.get(v.id, 0), judgements.get(v.id, 0), v.id == last)
        for v in versions
    ]


def by_occupation(
    versions: Sequence[FrameworkVersion],
) -> list[tuple[str, str, list[FrameworkVersion]]]:
    """Versions grouped by occupation: `[(soc, occupation title, versions)]`, by title."""
    groups: dict[str, list[FrameworkVersion]] = {}
    for version in versions:
        groups.setdefault(version.framework.soc, []).append(version)
    return sorted(
        (
            (soc, str(members[0].occupation.get("title", soc)), members)
            for soc, members in groups.items()
        ),
        key=lambda group: (group[1].casefold(), group[0]),
    )


def get_version_by_case_id(session: Session, case_id: str) -> FrameworkVersion | None:
    """The version whose CFDocument identifier is `case_id` (any letter case), or None."""
    query = select(FrameworkVersion).where(FrameworkVersion.case_id == case_id.lower())
    return session.scalar(query.options(*_with_content()))


def version_of_item(session: Session, case_id: str) -> FrameworkVersion | None:
    """The version holding the level or statement whose CFItem identifier is `case_id`."""
    case_id = case_id.lower()
    level = select(Level.version_id).where(Level.case_id == case_id)
    statement = (
        select(Level.version_id)
        .join(Statement, Statement.level_id == Level.id)
        .where(Statement.case_id == case_id)
    )
    version_id = session.scalar(level) or session.scalar(statement)
    return get_version(session, version_id) if version_id is not None else None
