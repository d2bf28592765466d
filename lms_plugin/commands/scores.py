"""`lms-plugin scores ...`: grade passback to the LMS gradebook (AGS)."""

from __future__ import annotations

import json
import sys
import threading

import click
from flask.cli import with_appcontext

from lms_plugin import worker
from lms_plugin.commands.common import EXIT_STILL_QUEUED, deliver_options, require_current_schema
from lms_plugin.database import db
from lms_plugin.lti.scores import score_counts
from xapi.delivery import DeliveryReport


@click.group("scores")
def scores_group() -> None:
    """Grade passback to the LMS gradebook (AGS)."""


@scores_group.command("deliver")
@deliver_options
@with_appcontext
def scores_deliver_command(drain: bool, timeout: float, interval: float) -> None:
    """Post queued scores to the LMSs (loops until stopped, or drains with --drain)."""
    require_current_schema()
    if drain:
        done, _ = worker.drain(worker.SCORES, timeout, interval)
        if not done:
            click.echo(f"{worker.queued_scores()} score(s) still queued.", err=True)
            sys.exit(EXIT_STILL_QUEUED)
        click.echo("Nothing queued.")
        return
    worker.run([worker.deliver_scores_once], interval, threading.Event(), echo_report)


@scores_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def scores_status_command(as_json: bool) -> None:
    """Queued, delivered and dead scores."""
    require_current_schema()
    counts = score_counts(db.session)
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(f"queued {counts['queued']}, delivered {counts['delivered']}, dead {counts['dead']}")


def echo_report(report: DeliveryReport) -> None:
    """The pass's counts, when it did anything."""
    if report.delivered or report.retrying or report.dead:
        click.echo(f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}")
