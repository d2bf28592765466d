"""Public pages listing the frameworks and their statements."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.orm import MAX_ID

blueprint = Blueprint("frameworks", __name__, url_prefix="/frameworks")


@blueprint.get("")
def index() -> ResponseReturnValue:
    return render_template("frameworks/index.html", versions=services.current_versions(db.session))


@blueprint.get(f"/<int(max={MAX_ID}):version_id>")
def detail(version_id: int) -> ResponseReturnValue:
    version = services.get_version(db.session, version_id)
    if version is None:
        abort(404, description="There is no framework version with this id.")
    return render_template("frameworks/detail.html", version=version)
