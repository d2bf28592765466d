"""`lms-plugin xapi ...`: deliver the outbox, show its state, export it, replay dead statements,
and set the LRS of a platform or deployment."""

from __future__ import annotations

import json
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from lms_plugin import worker
from lms_plugin.commands.common import (
    EXIT_STILL_QUEUED,
    deliver_options,
    echo_listing,
    json_option,
    require_current_schema,
)
from lms_plugin.database import db
from lms_plugin.learning_records import endpoints, lrs
from lms_plugin.lti.models import Deployment, Platform
from lms_plugin.orm import is_state
from xapi import delivery, outbox
from xapi.delivery import DeliveryReport
from xapi.lrs import LrsConfigError, check_endpoint
from xapi.models import STATES, LrsEndpoint, OutboxStatement


@click.group("xapi")
def xapi_group() -> None:
    """xAPI statements: delivery to the LRSs, the outbox, LRS settings."""


@xapi_group.command("deliver")
@deliver_options
@click.option(
    "--batch-size",
    default=lrs.DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Statements per request to an LRS.",
)
@with_appcontext
def deliver_command(drain: bool, timeout: float, interval: float, batch_size: int) -> None:
    """Send queued statements to the LRSs (loops until stopped, or drains with --drain).

    Stops with exit status 1 when an LRS refuses the tool's credentials (HTTP 401/403).
    """
    require_current_schema()
    if drain:
        done, report = worker.drain(worker.statements(batch_size), timeout, min(interval, 0.5))
        _echo_report(report)
        _stop_if_refused(report)
        if not done:
            queued = worker.queued_statements()
            click.echo(f"{queued} statement(s) still queued after {timeout:g} s.", err=True)
            _explain_queued()
            sys.exit(EXIT_STILL_QUEUED)
        click.echo("Nothing queued.")
        return
    shown: list[str] = []

    def on_report(report: DeliveryReport) -> None:
        nonlocal shown
        _echo_report(report, shown)
        shown = report.problems
        _stop_if_refused(report)

    worker.run(
        [lambda: worker.deliver_xapi_once(batch_size)], interval, threading.Event(), on_report
    )


def _echo_report(report: DeliveryReport, shown: list[str] | None = None) -> None:
    """The pass's counts, and the LRSs that cannot be used (when that changed)."""
    if report.delivered or report.retrying or report.dead:
        click.echo(f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}")
    if report.problems != shown:
        for problem in dict.fromkeys(report.problems):
            click.echo(f"error: cannot deliver to {problem}", err=True)


def _stop_if_refused(report: DeliveryReport) -> None:
    if report.refused:
        for refusal in report.refused:
            click.echo(f"error: the LRS refused the tool's credentials: {refusal}", err=True)
        raise click.ClickException(
            "fix the LRS user or password (`lms-plugin xapi lrs set`, or XAPI_LRS_USERNAME and "
            "XAPI_LRS_PASSWORD), then deliver again; the statements stay queued."
        )


def _explain_queued() -> None:
    waiting = delivery.unrouted(db.session, lrs.destinations())
    if waiting:
        click.echo(
            f"{waiting} of them have no LRS configured: set XAPI_LRS_ENDPOINT or run "
            "`lms-plugin xapi lrs set`.",
            err=True,
        )


@xapi_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def status_command(as_json: bool) -> None:
    """Queued, delivered and dead statements, and the age of the oldest queued one."""
    require_current_schema()
    counts = outbox.counts(db.session)
    if as_json:
        click.echo(json.dumps(counts))
        return
    age = counts["oldest_queued_age_s"]
    oldest = f" (oldest {age:.1f} s)" if age is not None else ""
    click.echo(
        f"queued {counts['queued']}{oldest}, delivered {counts['delivered']}, dead {counts['dead']}"
    )
    problems: list[str] = []
    targets = lrs.destinations(problems)
    for target in targets:
        click.echo(f"LRS: {target.name}")
    if not targets:
        click.echo("No LRS configured: statements stay queued (see `lms-plugin xapi lrs set`).")
    for problem in problems:
        click.echo(f"error: {problem}")
    waiting = delivery.unrouted(db.session, targets) if targets else 0
    if waiting:
        click.echo(f"{waiting} queued statement(s) have no LRS configured.")
    rows = db.session.execute(
        select(OutboxStatement.statement_id, OutboxStatement.state, OutboxStatement.last_error)
        .where(
            # delivered rows carry no error: leave their (large) history unread
            or_(is_state(OutboxStatement.state, "queued"), is_state(OutboxStatement.state, "dead")),
            OutboxStatement.last_error.is_not(None),
        )
        .order_by(OutboxStatement.id.desc())
        .limit(5)
    )
    for statement_id, state, error in rows:
        click.echo(f"{state:<9} {statement_id}  {error[:200]}")


@xapi_group.command("export")
@click.option(
    "--state",
    type=click.Choice([*STATES, "all"]),
    default="all",
    show_default=True,
    help="Which statements to print.",
)
@with_appcontext
def export_command(state: str) -> None:
    """Print stored statements as JSON lines, oldest first: the exact bytes sent to the LRS."""
    require_current_schema()
    sys.stdout.flush()
    out = sys.stdout.buffer
    for payload in outbox.payloads(db.session, None if state == "all" else state):
        out.write(payload.encode("utf-8") + b"\n")
    out.flush()


@xapi_group.command("replay")
@click.option("--id", "statement_id", default=None, help="The xAPI id of one dead statement.")
@with_appcontext
def replay_command(statement_id: str | None) -> None:
    """Queue dead statements again (after fixing what made the LRS refuse them)."""
    require_current_schema()
    count = outbox.replay(db.session, statement_id)
    db.session.commit()
    if statement_id is not None and count == 0:
        raise click.ClickException(f"no dead statement with id {statement_id}")
    click.echo(f"{count} statement(s) queued again.")


@xapi_group.group("lrs")
def lrs_group() -> None:
    """The LRS of each platform or deployment."""


@lrs_group.command("set")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--deployment-id", default=None, help="Only for this deployment of the platform.")
@click.option("--endpoint", required=True, help="The LRS's xAPI endpoint, e.g. https://lrs/xAPI/")
@click.option("--username", required=True, help="The HTTP basic user for the LRS.")
@with_appcontext
def lrs_set_command(issuer: str, deployment_id: str | None, endpoint: str, username: str) -> None:
    """Set the LRS of a platform (or of one deployment); the password is read from standard
    input and stored encrypted."""
    require_current_schema()
    try:
        check_endpoint(endpoint)
    except LrsConfigError as error:
        raise click.BadParameter(str(error), param_hint="--endpoint") from None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("give the LRS password on standard input")
    session = db.session
    platforms = list(session.scalars(select(Platform).where(Platform.issuer == issuer)))
    if not platforms:
        raise click.ClickException(f"no platform with issuer {issuer}")
    targets: list[tuple[Platform, Deployment | None]] = []
    for platform in platforms:
        if deployment_id is None:
            targets.append((platform, None))
            continue
        deployment = session.scalar(
            select(Deployment).where(
                Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
            )
        )
        if deployment is not None:
            targets.append((platform, deployment))
    if not targets:
        raise click.ClickException(f"no deployment {deployment_id} on platform {issuer}")
    box = current_app.extensions["secret_box"]
    for platform, deployment in targets:
        endpoints.save_endpoint(
            session,
            box,
            platform,
            deployment,
            endpoint=endpoint,
            username=username,
            password=password,
        )
        where = f"deployment {deployment.deployment_id}" if deployment else "every deployment"
        click.echo(f"LRS for {platform.issuer} (client {platform.client_id}), {where}: {endpoint}")
    session.commit()


@lrs_group.command("list")
@json_option
@with_appcontext
def lrs_list_command(as_json: bool) -> None:
    """List the configured LRSs (never their passwords)."""
    require_current_schema()
    rows: list[dict[str, str | None]] = []
    default = current_app.config.get("XAPI_LRS_ENDPOINT")
    if default:
        rows.append(
            {
                "scope": "default",
                "issuer": None,
                "client_id": None,
                "deployment_id": None,
                "endpoint": default,
                "username": current_app.config.get("XAPI_LRS_USERNAME") or None,
            }
        )
    for endpoint, platform, deployment in db.session.execute(
        select(LrsEndpoint, Platform, Deployment)
        .join(Platform, Platform.id == LrsEndpoint.platform_id)
        .outerjoin(Deployment, Deployment.id == LrsEndpoint.deployment_id)
        .order_by(LrsEndpoint.id)
    ):
        rows.append(
            {
                "scope": "deployment" if deployment else "platform",
                "issuer": platform.issuer,
                "client_id": platform.client_id,
                "deployment_id": deployment.deployment_id if deployment else None,
                "endpoint": endpoint.endpoint,
                "username": endpoint.username,
            }
        )
    echo_listing(
        rows,
        as_json=as_json,
        empty=(
            "No LRS is set: statements stay queued. Set one with `lms-plugin xapi lrs set "
            "--issuer URL --endpoint URL --username U` or XAPI_LRS_ENDPOINT."
        ),
        headings=("FOR", "ISSUER", "CLIENT ID", "DEPLOYMENT", "ENDPOINT", "USER"),
        cells=lambda row: (
            "every platform (XAPI_LRS_ENDPOINT)" if row["scope"] == "default" else row["scope"],
            row["issuer"],
            row["client_id"],
            row["deployment_id"] or ("every deployment" if row["scope"] == "platform" else ""),
            row["endpoint"],
            row["username"],
        ),
    )
