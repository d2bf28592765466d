"""Pages beside the grid: the rule and the cohort overview (heatmap of statements x share met)
for staff; a learner's copy of a credential bound to their DID, staff revoking a credential."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from lms_plugin.assessment import awards, read_models, services
from lms_plugin.assessment.api import (
    credentials_of,
    launch_placement,
    listeners,
)
from lms_plugin.assessment.grid_rows import grid_rows
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.rules import LevelRule
from lms_plugin.credentials import issuance
from lms_plugin.credentials.views import credential_or_404
from lms_plugin.database import db
from lms_plugin.lti import current, nrps, rate_limit
from lms_plugin.lti.models import Course, Person, ResourceLink
from lms_plugin.lti.services import LaunchContext

blueprint = Blueprint("assessment_pages", __name__)

DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,2000}")


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


@blueprint.post("/launch/<launch_id>/credentials/<credential_id>/did")
def bind_to_did(launch_id: str, credential_id: str) -> ResponseReturnValue:
    """A learner asks for a copy of their credential bound to a DID they control (their wallet's),
    instead of the hashed e-mail."""
    launch, placement = launch_placement(staff=False, launch_id=launch_id)
    found = credential_or_404(credential_id)
    achievement = db.session.get(LevelAchievement, found.achievement_id)
    if (
        launch.staff
        or found.learner_id != launch.person_id
        or achievement is None
        or achievement.resource_link_id != placement.link.id
    ):
        abort(403, description="Only the learner can bind their own credential to a DID.")
    if found.revoked_at is not None or achievement.withdrawn_at is not None:
        abort(400, description="This credential is revoked: there is nothing to re-issue.")
    did = request.form.get("did", "").strip()
    if not DID.fullmatch(did):
        abort(400, description="A DID looks like did:method:identifier (e.g. did:key:z6Mk...).")
    if not rate_limit.allow(db.session, rate_limit.CREDENTIAL_COPIES, launch.person_id):
        abort(429, description=rate_limit.CREDENTIAL_COPIES.message())
    awards.issue_for_achievement(
        db.session, current_app.extensions["issuer_settings"], achievement, learner_did=did
    )
    return redirect(url_for("lti.launched", launch_id=launch_id), code=303)


@blueprint.post("/launch/<launch_id>/credentials/<credential_id>/revoke")
def revoke_credential(launch_id: str, credential_id: str) -> ResponseReturnValue:
    """Staff revoke a credential of their course, with a reason."""
    _, placement = launch_placement(staff=True, launch_id=launch_id)
    found = credential_or_404(credential_id)
    achievement = db.session.get(LevelAchievement, found.achievement_id)
    if achievement is None or achievement.resource_link_id != placement.link.id:
        abort(403, description="This credential is not from your activity.")
    reason = request.form.get("reason", "").strip()
    if not reason:
        abort(400, description="Give a reason: the employer's page shows it.")
    issuance.revoke(db.session, found, reason)
    return redirect(url_for("lti.launched", launch_id=launch_id), code=303)


def course_page(launch: LaunchContext, link: ResourceLink) -> ResponseReturnValue:
    """The page a launch into a placed activity leads to: the grid for staff, the learner's own
    progress otherwise (the LTI views hand over here once the activity has a framework)."""
    placement = services.load_placement(db.session, link)
    assert placement is not None
    if launch.staff:
        grid = read_models.grid_json(db.session, placement)
        credentials = read_models.link_credentials(
            db.session, current_app.extensions["issuer_settings"], link.id
        )
        return current.render_launch_page(
            "assessment/grid.html",
            launch,
            placement=placement,
            grid=grid,
            rows=grid_rows(grid),
            credentials=credentials,
            roster=nrps.status(db.session, link.course_id),
        )
    learner = db.session.get(Person, launch.person_id)
    assert learner is not None
    progress = read_models.progress_json(
        db.session, placement, learner, credentials_of(learner.id, placement)
    )
    return current.render_launch_page(
        "assessment/learner.html", launch, placement=placement, progress=progress
    )
