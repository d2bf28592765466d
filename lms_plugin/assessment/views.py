"""Staff pages beside the grid: the cohort overview (heatmap of statements x share met)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from lms_plugin.assessment import services
from lms_plugin.database import db
from lms_plugin.lti import context
from lms_plugin.lti.models import Course, ResourceLink

blueprint = Blueprint("assessment_pages", __name__)


@blueprint.get("/launch/<launch_id>/overview")
def overview(launch_id: str) -> ResponseReturnValue:
    launch = context.current_launch(launch_id)
    if not launch.staff:
        abort(403, description="Only course staff see the cohort overview.")
    link = (
        db.session.get(ResourceLink, launch.resource_link_id) if launch.resource_link_id else None
    )
    placement = services.load_placement(db.session, link) if link else None
    if placement is None:
        abort(409, description="This activity has no competency framework yet.")
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
