"""What every command shares: the schema check and the exit status for "still queued"."""

from __future__ import annotations

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
