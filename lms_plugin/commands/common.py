"""What every command shares: the schema check, the exit status for "still queued", the
`--json` flag and the tables the `list` commands print."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from lms_plugin import migrate
from lms_plugin.database import db

EXIT_STILL_QUEUED = 3


def require_current_schema() -> None:
    """Stop with a clear message when the database has not been initialised or upgraded."""
    if not migrate.is_current(db.engine):
        raise click.ClickException(
            "The database is not initialised or not up to date: run `lms-plugin init` first."
        )


def deliver_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every `... deliver` command takes: --drain, --timeout, --interval."""
    for option in reversed(
        (
            click.option(
                "--drain", is_flag=True, help="Return once nothing is queued (exit 0), else exit 3."
            ),
            click.option(
                "--timeout", default=60.0, show_default=True, help="Seconds to try with --drain."
            ),
            click.option(
                "--interval", default=1.0, show_default=True, help="Seconds between idle passes."
            ),
        )
    ):
        command = option(command)
    return command


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def echo_table(headings: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows under their column headings, each column as wide as its widest cell; an empty
    or missing value shows as "-"."""
    lines = [list(headings)]
    lines += [
        ["-" if value is None or value == "" else str(value) for value in row] for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headings))]
    lines.insert(1, ["-" * width for width in widths])
    for line in lines:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def echo_listing(
    rows: Sequence[Any],
    *,
    as_json: bool,
    empty: str,
    headings: Sequence[str],
    cells: Callable[[Any], Sequence[object]],
) -> None:
    """What every `list` command prints: the rows as JSON with `--json`, else `empty` when there
    are none, else a table of `cells(row)` under `headings`."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        click.echo(empty)
    else:
        echo_table(headings, (cells(row) for row in rows))
