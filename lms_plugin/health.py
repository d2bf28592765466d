"""Liveness, the landing page and the favicon."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from lms_plugin.database import db

blueprint = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("health check: database unavailable: %s", type(error).__name__)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@blueprint.get("/")
def index() -> ResponseReturnValue:
    """What the tool does for each of its users, with the way in for each."""
    return render_template("index.html", sandbox_enabled=current_app.config["SANDBOX_ENABLED"])


@blueprint.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for /favicon.ico where no page names an icon (JSON answers): the SVG one."""
    return send_from_directory(
        str(current_app.static_folder), "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
