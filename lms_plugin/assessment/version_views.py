"""Staff moving their activity to a newer version of its framework (`version_move`)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lms_plugin.assessment.api import launch_placement, listeners
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.version_move import MoveError, later_versions, move_placement
from lms_plugin.database import db
from lms_plugin.lti.models import Course
from lms_plugin.orm import MAX_ID

blueprint = Blueprint("version_move_pages", __name__)


@blueprint.route("/launch/<launch_id>/framework-versions", methods=["GET", "POST"])
def versions(launch_id: str) -> ResponseReturnValue:
    """The activity's framework version and the later ones it can move to (POST: from a
    cookieless page, with its CSRF token)."""
    launch, placement = launch_placement(staff=True, launch_id=launch_id)
    return render_template(
        "assessment/framework_versions.html",
        launch=launch,
        course=db.session.get(Course, launch.course_id),
        placement=placement,
        later=later_versions(db.session, placement),
    )


@blueprint.post("/launch/<launch_id>/framework-versions/move")
@retry_races
def move(launch_id: str) -> ResponseReturnValue:
    """Move the activity to the version in the form's `to`; back to the grid."""
    _, placement = launch_placement(staff=True, launch_id=launch_id)
    wanted = request.form.get("to", "")
    if not (wanted.isascii() and wanted.isdigit() and 1 <= int(wanted) <= MAX_ID):
        abort(400, description="Choose the framework version to move to.")
    try:
        move_placement(db.session, placement.link, int(wanted), listeners())
    except MoveError as error:
        abort(400, description=str(error))
    return redirect(url_for("lti.launched", launch_id=launch_id), code=303)
