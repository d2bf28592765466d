"""The `lms-plugin` command line. Every command reads the same environment as the web app, and
is also available as `flask --app lms_plugin <command>`."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext

from lms_plugin import delivery, keys, migrate
from lms_plugin.commands.credentials import credentials_group
from lms_plugin.commands.xapi import xapi_group
from lms_plugin.credentials import issuance
from lms_plugin.database import db
from lms_plugin.delivery import BackgroundDelivery
from lms_plugin.frameworks import services as frameworks_services
from lms_plugin.frameworks.parsing import FrameworkFileError, ParsedFramework, read_framework_file
from lms_plugin.lti import invites, issuer_profiles, registrations


def require_current_schema() -> None:
    """Stop with a clear message when the database has not been initialised or upgraded."""
    if not migrate.is_current(db.engine):
        raise click.ClickException(
            "The database is not initialised or not up to date: run `lms-plugin init` first."
        )


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database to the newest schema and import the seed frameworks."""
    migrate.upgrade(db.engine)
    click.echo(f"Database ready at revision {migrate.head_revision()}.")
    box = current_app.extensions["secret_box"]
    for purpose in keys.ALGORITHMS:
        key = keys.ensure_key(db.session, box, purpose)
        click.echo(f"Current {purpose} key: {key.kid}")
    db.session.commit()
    seeds = sorted(Path(current_app.config["SEEDS_DIR"]).glob("*.json"))
    _import_files(seeds)
    if current_app.config["SANDBOX_ENABLED"]:
        from lms_plugin.sandbox.setup import ensure_sandbox

        ensure_sandbox(db.session, current_app.config["BASE_URL"])
        db.session.commit()
        click.echo(f"Sandbox LMS ready at {current_app.config['BASE_URL']}/sandbox")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_context
def demo_command(ctx: click.Context, host: str, port: int) -> None:
    """Initialise, then serve the tool on the embedded defaults (SQLite, in-process delivery) with
    the sandbox LMS at /sandbox."""
    os.environ.setdefault("SANDBOX_ENABLED", "1")
    os.environ.setdefault("ALLOW_PRIVATE_ADDRESSES", "1")  # verify what the demo serves locally
    ctx.invoke(init_command)
    app = ctx.ensure_object(ScriptInfo).load_app()
    BackgroundDelivery(app).start()
    click.echo(f"Serving the demo on http://{host}:{port}/ (Ctrl+C stops it).")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:5000", show_default=True, help="HOST:PORT to bind.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads", default=8, show_default=True, type=click.IntRange(6, 256), help="Per worker."
)
@with_appcontext
def serve_command(bind: str, workers: int, threads: int) -> None:
    """Serve the tool with gunicorn (production); run `lms-plugin init` before.

    Threaded workers (gthread): a request waiting on a slow remote server (verification fetches)
    holds one thread, not a whole worker, and at most 4 threads of a worker verify at once."""
    require_current_schema()
    from gunicorn.app.base import BaseApplication

    from lms_plugin import create_app
    from lms_plugin.credentials import isolation

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("post_worker_init", lambda _worker: isolation.warm_up())
            self.cfg.set("accesslog", "-")
            # The path without the query string: a query can carry a secret (a registration link).
            self.cfg.set("access_log_format", '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"')

        def load(self) -> Flask:
            return create_app()

    Server().run()


@click.group("frameworks")
def frameworks_group() -> None:
    """Import and list competency frameworks."""


@frameworks_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_appcontext
def frameworks_import_command(paths: tuple[Path, ...]) -> None:
    """Import framework files. All or nothing: if any file is refused, none is imported."""
    require_current_schema()
    _import_files(list(paths))


def _import_files(paths: list[Path]) -> None:
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def frameworks_list_command(as_json: bool) -> None:
    """List every framework version with its levels."""
    require_current_schema()
    versions = frameworks_services.list_versions(db.session)
    summaries = [frameworks_services.version_summary(v) for v in versions]
    if as_json:
        click.echo(json.dumps(summaries, ensure_ascii=False, indent=2))
        return
    if not summaries:
        click.echo("No frameworks imported yet.")
    for item in summaries:
        levels: list[dict[str, Any]] = item["levels"]  # type: ignore[assignment]
        counts = ", ".join(f"{lvl['key']} {lvl['statements']}" for lvl in levels)
        click.echo(
            f"{item['id']:>4}  {item['soc']:<11} {item['version']} (rev {item['revision']})  "
            f"{item['title']}  [{counts}]"
        )


@click.group("platform")
def platform_group() -> None:
    """Register LMS platforms (issuer + client id) and their deployments."""


@platform_group.command("add")
@click.option(
    "--issuer",
    required=True,
    help="The platform's issuer (iss), e.g. https://canvas.instructure.com",
)
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    multiple=True,
    required=True,
    help="A deployment id (repeatable).",
)
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth 2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set URL.")
@click.option("--name", default="", help="A name to show for the platform.")
@with_appcontext
def platform_add_command(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    name: str,
) -> None:
    """Register a platform, or add a deployment to a known one (same issuer and client id)."""
    require_current_schema()
    for label, value in (
        ("--issuer", issuer),
        ("--auth-login-url", auth_login_url),
        ("--auth-token-url", auth_token_url),
        ("--jwks-url", jwks_url),
    ):
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise click.BadParameter(f"{value!r} is not an absolute URL", param_hint=label)
    platform = registrations.add_platform(
        db.session,
        registrations.PlatformSettings(
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            jwks_url=jwks_url,
            name=name,
        ),
        deployment_ids,
    )
    db.session.commit()
    deployments = ", ".join(d.deployment_id for d in platform.deployments)
    click.echo(
        f"Platform {platform.id}: {platform.issuer} client {platform.client_id}; "
        f"deployments: {deployments}"
    )


@platform_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def platform_list_command(as_json: bool) -> None:
    """List registered platforms and their deployments."""
    require_current_schema()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "issuer": p.issuer,
            "client_id": p.client_id,
            "auth_login_url": p.auth_login_url,
            "auth_token_url": p.auth_token_url,
            "jwks_url": p.jwks_url,
            "deployments": [d.deployment_id for d in p.deployments],
            "issuer_profile": issuer_profiles.summary(db.session, p),
        }
        for p in registrations.list_platforms(db.session)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No platforms registered yet.")
    for row in rows:
        profile = row["issuer_profile"]
        click.echo(
            f"{row['id']:>4}  {row['issuer']}  client {row['client_id']}  "
            f"deployments: {', '.join(row['deployments']) or '-'}  {row['name']}  "
            f"credentials issued by: {profile['name']} [{profile['slug'] or 'default'}]"
        )


@platform_group.command("invite")
@click.option("--name", default="", help="A name for the platform (shown in `platform list`).")
@click.option(
    "--expires-in",
    type=float,
    default=invites.DEFAULT_EXPIRES_IN_HOURS,
    show_default=True,
    metavar="HOURS",
    help=f"Hours the link stays usable (at most {invites.MAX_EXPIRES_IN_HOURS:g}).",
)
@with_appcontext
def platform_invite_command(name: str, expires_in: float) -> None:
    """Print a single-use registration link: paste it into the LMS as the Tool URL (LTI Dynamic
    Registration); the platform is registered and live once the LMS has used it."""
    require_current_schema()
    try:
        url = invites.create_invite(db.session, current_app.config["BASE_URL"], name, expires_in)
    except invites.InviteError as error:
        raise click.UsageError(f"{error}.") from None
    db.session.commit()
    click.echo(url)


@platform_group.command("issuer")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", default=None, help="Which platform, when several share the issuer.")
@click.option("--deployment-id", default=None, help="Only for this deployment of the platform.")
@click.option("--name", required=True, help="The institution credentials name as their issuer.")
@click.option("--url", default=None, help="The institution's web site, shown with its name.")
@click.option(
    "--slug", default=None, help="Its DID path: did:web:<tool host>:issuers:<slug> (new only)."
)
@with_appcontext
def platform_issuer_command(
    issuer: str,
    client_id: str | None,
    deployment_id: str | None,
    name: str,
    url: str | None,
    slug: str | None,
) -> None:
    """Set who credentials of a platform (or of one deployment, which overrides the platform)
    name as their issuer; it signs with its own key. Credentials issued earlier keep theirs."""
    require_current_schema()
    settings = current_app.extensions["issuer_settings"]
    try:
        platform, deployment = issuer_profiles.find_scope(
            db.session, issuer, client_id, deployment_id
        )
        profile = issuer_profiles.set_profile(
            db.session, platform, deployment, name=name, url=url, slug=slug
        )
    except issuer_profiles.IssuerProfileError as error:
        raise click.ClickException(str(error)) from None
    identity = issuance.profile_identity(db.session, settings, issuer_profiles.info(profile))
    db.session.commit()
    where = f"deployment {deployment.deployment_id}" if deployment else "every deployment"
    click.echo(
        f"Issuer for {platform.issuer} (client {platform.client_id}), {where}: {profile.name}"
        f"{f' <{profile.url}>' if profile.url else ''}; DID {identity.did}"
    )


@click.group("keys")
def keys_group() -> None:
    """List, rotate and retire the tool's signing keys."""


@keys_group.command("rotate")
@click.option(
    "--purpose", type=click.Choice(sorted(keys.ALGORITHMS)), default="lti", show_default=True
)
@click.option(
    "--issuer-profile",
    "profile_slug",
    default=None,
    metavar="SLUG",
    help="Rotate this issuer profile's credentials key instead (slug from `platform list`).",
)
@with_appcontext
def keys_rotate_command(purpose: str, profile_slug: str | None) -> None:
    """Add a new signing key; earlier keys stay published until retired."""
    require_current_schema()
    profile_id = None
    if profile_slug is not None:
        profile = current_app.extensions["issuer_settings"].profiles.by_slug(
            db.session, profile_slug
        )
        if profile is None:
            raise click.ClickException(f"there is no issuer profile {profile_slug!r}")
        purpose, profile_id = "credentials", profile.id
    key = keys.generate_key(db.session, current_app.extensions["secret_box"], purpose, profile_id)
    db.session.commit()
    click.echo(f"New {purpose} key {key.kid} now signs; earlier keys stay published until retired.")


# A kid is a JWK thumbprint (base64url), which may begin with "-": not an option here.
@keys_group.command("retire", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@with_appcontext
def keys_retire_command(kid: str) -> None:
    """Retire a key (not the current one): LTI keys leave the JWKS; credential keys stop signing."""
    require_current_schema()
    try:
        key = keys.retire_key(db.session, kid)
    except keys.ToolKeyError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Retired {key.purpose} key {key.kid}.")


@keys_group.command("list")
@with_appcontext
def keys_list_command() -> None:
    """List every key with its purpose and state."""
    require_current_schema()
    current_ids = keys.current_key_ids(db.session)
    slugs = issuer_profiles.slugs(db.session)
    for key in keys.all_keys(db.session):
        state = "retired" if key.retired_at else "published"
        if key.id in current_ids:
            state = "current"
        created = f"{key.created_at:%Y-%m-%d %H:%M}Z"
        owner = f"  issuer {slugs[key.issuer_profile_id]}" if key.issuer_profile_id else ""
        click.echo(f"{key.purpose:<12} {key.algorithm:<8} {state:<10} {key.kid}  {created}{owner}")


@click.group("scores")
def scores_group() -> None:
    """Grade passback to the LMS gradebook (AGS)."""


@scores_group.command("deliver")
@click.option("--drain", is_flag=True, help="Return once nothing is queued (exit 0), else exit 3.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to try with --drain.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def scores_deliver_command(drain: bool, timeout: float, interval: float) -> None:
    """Post queued scores to the LMSs (loops until stopped, or drains with --drain)."""
    require_current_schema()
    if drain:
        if not delivery.drain(timeout, interval):
            click.echo(f"{delivery.queued_scores()} score(s) still queued.", err=True)
            sys.exit(3)
        click.echo("Nothing queued.")
        return
    while True:
        report = delivery.deliver_once()
        if report.delivered or report.retrying or report.dead:
            click.echo(
                f"delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}"
            )
        time.sleep(interval)


@click.command("worker")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def worker_command(interval: float) -> None:
    """Sign queued credentials, deliver scores to the LMSs and xAPI statements to the LRSs, until
    stopped (production: run one or more beside the web workers; the demo runs it in-process)."""
    require_current_schema()
    click.echo("Worker running (Ctrl+C stops it).")
    BackgroundDelivery(current_app._get_current_object(), interval).run()  # type: ignore[attr-defined]


COMMANDS = (
    init_command,
    demo_command,
    serve_command,
    frameworks_group,
    platform_group,
    keys_group,
    scores_group,
    credentials_group,
    worker_command,
    xapi_group,
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Competency judgements, xAPI records and Open Badges 3.0 credentials for Canvas and Moodle.

    Configuration comes from the environment (DATABASE_URL, SECRET_KEY, BASE_URL, ...): see README.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    from lms_plugin import create_app

    try:
        cli(obj=ScriptInfo(create_app=lambda: create_app(), set_debug_flag=False))
    except KeyboardInterrupt:
        sys.exit(130)
