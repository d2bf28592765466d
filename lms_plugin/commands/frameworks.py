"""`lms-plugin frameworks ...`: import, list and export competency frameworks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from lms_plugin.assessment.version_move import MoveError, move_placement
from lms_plugin.commands.common import echo_listing, json_option, require_current_schema
from lms_plugin.database import db
from lms_plugin.frameworks import case
from lms_plugin.frameworks import services as frameworks_services
from lms_plugin.frameworks.parsing import FrameworkFileError, ParsedFramework, read_framework_file
from lms_plugin.lti.models import ResourceLink
from lms_plugin.orm import MAX_ID


@click.group("frameworks")
def frameworks_group() -> None:
    """Import, list and export competency frameworks."""


@frameworks_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_appcontext
def frameworks_import_command(paths: tuple[Path, ...]) -> None:
    """Import framework files (LER.me files or CASE 1.0 CFPackages). All or nothing: if any file
    is refused, none is imported."""
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
        headings=("ID", "FRAMEWORK", "SOC", "VERSION", "REVISION", "TITLE", "STATEMENTS PER LEVEL"),
        cells=_framework_cells,
    )


def _framework_cells(item: dict[str, Any]) -> tuple[object, ...]:
    levels: list[dict[str, Any]] = item["levels"]
    counts = ", ".join(f"{lvl['key']} {lvl['statements']}" for lvl in levels)
    return (
        item["id"],
        item["framework"],
        item["soc"],
        item["version"],
        item["revision"],
        item["title"],
        counts,
    )


@frameworks_group.command("export")
@click.argument("version_id", metavar="ID", type=click.IntRange(min=1, max=MAX_ID))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["case"]),
    default="case",
    show_default=True,
    help="case: a CASE 1.0 CFPackage (JSON).",
)
@with_appcontext
def frameworks_export_command(version_id: int, format_: str) -> None:
    """Print framework version ID (as `frameworks list --json` prints it) as a CASE 1.0 package."""
    require_current_schema()
    version = frameworks_services.get_version(db.session, version_id)
    if version is None:
        raise click.ClickException(
            f"There is no framework version with id {version_id} "
            "(see `lms-plugin frameworks list`)."
        )
    package = case.build_package(version, str(current_app.config["BASE_URL"]))
    click.echo(json.dumps(package, ensure_ascii=False, indent=2))


@frameworks_group.command("move-placement")
@click.argument("link_id", metavar="PLACEMENT", type=click.IntRange(min=1, max=MAX_ID))
@click.option(
    "--to",
    "version_id",
    required=True,
    type=click.IntRange(min=1, max=MAX_ID),
    help="The framework version id to move to (a later revision of the same framework).",
)
@json_option
@with_appcontext
def frameworks_move_placement_command(link_id: int, version_id: int, as_json: bool) -> None:
    """Move PLACEMENT (an activity: the tool's resource link id) to a newer version of its
    framework. Judgements of unchanged statements carry over; nothing is deleted."""
    require_current_schema()
    link = db.session.get(ResourceLink, link_id)
    if link is None:
        raise click.ClickException(f"There is no placement (resource link) with id {link_id}.")
    listeners = list(current_app.extensions.get("assessment_listeners", []))
    try:
        report = move_placement(db.session, link, version_id, listeners)
    except MoveError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    summary = {
        "placement": link.id,
        "from": report.from_version.id,
        "to": report.to_version.id,
        "carried_over": len(report.carried),
        "left_behind": report.left_behind,
        "unjudged": report.unjudged,
        "achieved": [e.level.key for e in report.events if e.kind == "achieved"],
        "withdrawn": [e.level.key for e in report.events if e.kind == "withdrawn"],
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"Placement {link.id} moved from version id {summary['from']} to {summary['to']}: "
        f"{summary['carried_over']} judgement(s) carried over, "
        f"{len(report.unjudged)} statement(s) start unjudged, "
        f"{len(report.events)} level change(s)."
    )
