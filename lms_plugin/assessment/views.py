"""Staff pages beside the grid: the cohort overview (heatmap of statements x share met)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lms_plugin.assessment import services
from lms_plugin.assessment.api import launch_placement, listeners
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.rules import LevelRule
from lms_plugin.database import db
from lms_plugin.lti.models import Course

blueprint = Blueprint("assessment_pages", __name__)


@blueprint.post("/launch/<launch_id>/rule")
@retry_races
def change_rule(launch_id: str) -> ResponseReturnValue:
    """Staff set when a level counts as achieved; every learner's levels are recomputed."""
    _, placement = launch_placement(staff=True, launch_id=launch_id)
    try:
        threshold = int(request.form.get("threshold_percent", ""))
    except ValueError:
        abort(400, description="The threshold must be a whole number of percent.")
    rule = LevelRule(threshold, request.form.get("require_lower_levels") == "on")
    try:
        services.change_rule(db.session, placement, rule, listeners())
    except services.JudgementError as error:
        abort(400, description=str(error))
    return redirect(url_for("lti.launched", launch_id=launch_id), code=303)


@blueprint.route("/launch/<launch_id>/overview", methods=["GET", "POST"])
def overview(launch_id: str) -> ResponseReturnValue:
    """The cohort overview (POST: from a cookieless page, with its CSRF token)."""
    launch, placement = launch_placement(staff=True, launch_id=launch_id)
    learner_ids = {p.id for p in services.learners(db.session, placement.link.course_id)}
    counts: dict[int, dict[str, int]] = {
        sid: {"met": 0, "not_yet": 0} for sid in placement.statements
    }
    for (learner_id, statement_id), judgement in services.current_verdicts(
        db.session, placement.link.id
    ).items():
        if learner_id in learner_ids and statement_id in counts and judgement.verdict != "clear":
            counts[statement_id][judgement.verdict] += 1
    return render_template(
        "assessment/overview.html",
        launch=launch,
        course=db.session.get(Course, launch.course_id),
        placement=placement,
        counts=counts,
        total=len(learner_ids),
    )
