"""`lms-plugin frameworks ...`: import and list competency frameworks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from lms_plugin.commands.common import echo_listing, json_option, require_current_schema
from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks_services
from lms_plugin.frameworks.parsing import FrameworkFileError, ParsedFramework, read_framework_file


@click.group("frameworks")
def frameworks_group() -> None:
    """Import and list competency frameworks."""


@frameworks_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_appcontext
def frameworks_import_command(paths: tuple[Path, ...]) -> None:
    """Import framework files. All or nothing: if any file is refused, none is imported."""
    require_current_schema()
    import_files(list(paths))


def import_files(paths: list[Path]) -> None:
    parsed: list[ParsedFramework] = []
    refused: list[FrameworkFileError] = []
    for path in paths:
        try:
            parsed.append(read_framework_file(path))
        except FrameworkFileError as error:
            refused.append(error)
    if refused:
        for error in refused:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(
            f"{len(refused)} of {len(paths)} file(s) refused; nothing was imported."
        )
    session = db.session
    results = frameworks_services.import_frameworks(session, parsed)
    session.commit()
    for result in results:
        version = result.version
        click.echo(
            f"{result.source}: {result.action.replace('_', ' ')} "
            f"(id {version.id}, {version.title}, version {version.version_label}, "
            f"revision {version.revision}, {version.statement_count} statements)"
        )


@frameworks_group.command("list")
@json_option
@with_appcontext
def frameworks_list_command(as_json: bool) -> None:
    """List every framework version with its levels."""
    require_current_schema()
    versions = frameworks_services.list_versions(db.session)
    summaries = [frameworks_services.version_summary(v) for v in versions]
    echo_listing(
        summaries,
        as_json=as_json,
        empty=(
            "No frameworks imported yet. Import one with `lms-plugin frameworks import PATH` "
            "(`lms-plugin init` imports the seed files)."
        ),
        headings=("ID", "SOC", "VERSION", "REVISION", "TITLE", "STATEMENTS PER LEVEL"),
        cells=_framework_cells,
    )


def _framework_cells(item: dict[str, Any]) -> tuple[object, ...]:
    levels: list[dict[str, Any]] = item["levels"]
    counts = ", ".join(f"{lvl['key']} {lvl['statements']}" for lvl in levels)
    return (item["id"], item["soc"], item["version"], item["revision"], item["title"], counts)
