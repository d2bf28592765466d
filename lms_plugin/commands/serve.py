"""`lms-plugin init`, `demo`, `serve` and `worker`: set up the database, serve the tool, run the
background worker."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select

from lms_plugin import keys, migrate
from lms_plugin.commands.common import require_current_schema
from lms_plugin.commands.frameworks import import_files
from lms_plugin.database import db
from lms_plugin.learning_records.endpoints import find_endpoint, save_endpoint
from lms_plugin.lti.models import Platform
from lms_plugin.worker import BackgroundDelivery


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
    import_files(seeds)
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
    the sandbox LMS at /sandbox (and, without XAPI_LRS_ENDPOINT, its LRS at /sandbox/lrs)."""
    os.environ.setdefault("SANDBOX_ENABLED", "1")
    os.environ.setdefault("ALLOW_PRIVATE_ADDRESSES", "1")  # verify what the demo serves locally
    ctx.invoke(init_command)
    app = ctx.ensure_object(ScriptInfo).load_app()
    if app.config["SANDBOX_ENABLED"] and not app.config.get("XAPI_LRS_ENDPOINT"):
        with app.app_context():
            click.echo(_use_sandbox_lrs())
    BackgroundDelivery(app).start()
    settle_heap()
    click.echo(f"Serving the demo on http://{host}:{port}/ (Ctrl+C stops it).")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


def _use_sandbox_lrs() -> str:
    """Make the sandbox LRS the sandbox platform's LRS, stored like any platform's (so the
    worker, `xapi status` and `xapi lrs list` in other processes see it too), unless the
    operator set another one for it; says which."""
    from lms_plugin.sandbox import lrs
    from lms_plugin.sandbox.setup import platform_settings

    base_url = current_app.config["BASE_URL"]
    settings = platform_settings(base_url)
    platform = db.session.scalar(
        select(Platform).where(
            Platform.issuer == settings.issuer, Platform.client_id == settings.client_id
        )
    )
    assert platform is not None, "init registers the sandbox platform"
    existing = find_endpoint(db.session, platform)
    if existing is not None and existing.username != lrs.USERNAME:
        return f"xAPI statements of the sandbox go to the LRS set for it: {existing.endpoint}"
    sandbox = lrs.lrs_settings(base_url, current_app.config["SECRET_KEY"])
    save_endpoint(
        db.session,
        current_app.extensions["secret_box"],
        platform,
        None,
        endpoint=sandbox["XAPI_LRS_ENDPOINT"],
        username=sandbox["XAPI_LRS_USERNAME"],
        password=sandbox["XAPI_LRS_PASSWORD"],
    )
    db.session.commit()
    return f"xAPI statements go to the sandbox LRS: {base_url}/sandbox/lrs"


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

    factory = current_app.extensions["app_factory"]  # the same settings, one app per worker

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("post_worker_init", _worker_ready)
            self.cfg.set("accesslog", "-")
            # The path without the query string: a query can carry a secret (a registration link).
            self.cfg.set("access_log_format", '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"')

        def load(self) -> Flask:
            return factory()

    Server().run()


def settle_heap() -> None:
    """Call once a serving process (a gunicorn worker, the demo, the worker) has loaded the app:
    collect what starting left, then freeze what remains (the app and its libraries, ~160,000
    objects) out of the garbage collector's full passes. Otherwise each full pass walks them all,
    110-170 ms on a 2-core machine, in whichever request triggers it: a bulk save of 1,200
    judgements allocates enough to trigger one almost every time. Later objects are collected
    as before."""
    gc.collect()
    gc.freeze()


def _worker_ready(_worker: object) -> None:
    """A gunicorn worker has loaded the app: start its verification workers, settle its heap."""
    from lms_plugin.credentials import isolation

    isolation.warm_up()
    settle_heap()


@click.command("worker")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def worker_command(interval: float) -> None:
    """Sign queued credentials, deliver scores to the LMSs and xAPI statements to the LRSs, and
    purge what was delivered more than OUTBOX_RETENTION_DAYS ago, until stopped (production: run
    one or more beside the web workers; the demo runs it in-process)."""
    require_current_schema()
    settle_heap()
    click.echo("Worker running (Ctrl+C stops it).")
    BackgroundDelivery(current_app._get_current_object(), interval).run()  # type: ignore[attr-defined]
