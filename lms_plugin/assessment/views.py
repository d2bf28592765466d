"""Pages beside the grid: the rule, the cohort overview (heatmap of statements x share met) and
the class list's sync status (which the grid page follows) for staff; the learner's page and
their evidence (wallet copies of credentials: `wallets`); staff revoking a credential."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from lms_plugin.assessment import awards, evidence, read_models, services
from lms_plugin.assessment.api import (
    credentials_of,
    launch_placement,
    listeners,
)
from lms_plugin.assessment.grid_rows import grid_rows, statement_names
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.rules import LevelRule
from lms_plugin.credentials import issuance
from lms_plugin.credentials.views import credential_or_404
from lms_plugin.database import db
from lms_plugin.lti import current, nrps, rate_limit
from lms_plugin.lti.models import Course, Person, ResourceLink
from lms_plugin.lti.services import LaunchContext
from lms_plugin.orm import utc_iso

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
    counts, total = read_models.cohort_counts(db.session, placement)
    return render_template(
        "assessment/overview.html",
        launch=launch,
        course=db.session.get(Course, launch.course_id),
        placement=placement,
        counts=counts,
        total=total,
    )


@blueprint.get("/launch/<launch_id>/roster")
def roster_status(launch_id: str) -> ResponseReturnValue:
    """Staff: whether the course's class list is still being read from the LMS, as the grid page
    asks while it is (`{"syncing", "as_of", "problem"}`; never asked for: not syncing, all null).
    Reads only."""
    _, placement = launch_placement(staff=True, launch_id=launch_id)
    roster = nrps.status(db.session, placement.link.course_id)
    body = {
        "syncing": bool(roster and roster.syncing),
        "as_of": utc_iso(roster.as_of) if roster and roster.as_of else None,
        "problem": roster.problem if roster else None,
    }
    return body, 200, {"Cache-Control": "no-store"}


@blueprint.post("/launch/<launch_id>/credentials/name")
def name_choice(launch_id: str) -> ResponseReturnValue:
    """A learner chooses whether their credentials show their name; on a change, those still in
    force are re-issued saying so (the old ones revoked as replaced)."""
    launch, _ = launch_placement(staff=False, launch_id=launch_id)
    if launch.staff:
        abort(403, description="Only learners choose what their own credentials show.")
    choice = request.form.get("show_name", "")
    if choice not in ("yes", "no"):
        abort(400, description="Choose whether to show your name: yes or no.")
    learner = db.session.get(Person, launch.person_id)
    assert learner is not None
    if learner.show_name_in_credentials != (choice == "yes"):
        if not rate_limit.allow(db.session, rate_limit.CREDENTIAL_COPIES, learner.id):
            abort(429, description=rate_limit.CREDENTIAL_COPIES.message())
        learner.show_name_in_credentials = choice == "yes"
        awards.reissue_for_learner(db.session, current_app.extensions["issuer_settings"], learner)
    anchor = "credentials-heading"
    return redirect(url_for("lti.launched", launch_id=launch_id, _anchor=anchor), code=303)


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
        # Query string, or the form of a cookieless page's posted links (page, sort, q, state).
        try:
            query = read_models.GridQuery.from_args(request.values, paged=True)
        except ValueError as error:
            abort(400, description=f"{error}.")
        grid, cells = read_models.grid_page(db.session, placement, query)
        waiting = {(w["learner_id"], w["statement_id"]) for w in grid["waiting"]}
        credentials = read_models.link_credentials(
            db.session, current_app.extensions["issuer_settings"], link.id
        )
        return current.render_launch_page(
            "assessment/grid.html",
            launch,
            placement=placement,
            grid=grid,
            rows=grid_rows(grid, cells, waiting),
            statement_names=statement_names(grid),
            paging=grid["paging"],
            page_url=lambda **changed: _grid_url(launch.launch_id, grid["paging"], **changed),
            credentials=credentials,
            roster=nrps.status(db.session, link.course_id),
        )
    return learner_page(launch, placement)


EVIDENCE_SENT = "evidence_sent"
"""Session key: the statement whose evidence was just sent (the page says so, once)."""


@dataclass(frozen=True)
class EvidenceForm:
    """What a learner typed in a statement's evidence form, with the problems to show by it."""

    statement_id: int
    url: str
    note: str
    errors: dict[str, str]


def learner_page(
    launch: LaunchContext, placement: services.Placement, form: EvidenceForm | None = None
) -> ResponseReturnValue:
    """The learner's own progress, their evidence per statement and a form to send more."""
    learner = db.session.get(Person, launch.person_id)
    assert learner is not None
    progress = read_models.progress_json(
        db.session, placement, learner, credentials_of(learner.id, placement)
    )
    submissions: dict[int, list[dict[str, Any]]] = {}
    for item in read_models.evidence_submissions(db.session, placement.link.id, learner.id):
        submissions.setdefault(item["statement_id"], []).append(item)
    return current.render_launch_page(
        "assessment/learner.html",
        launch,
        placement=placement,
        progress=progress,
        submissions=submissions,
        show_name=learner.show_name_in_credentials,
        form=form,
        sent=session.pop(EVIDENCE_SENT, None) if form is None else None,
    )


@blueprint.post("/launch/<launch_id>/evidence")
@retry_races
def submit_evidence(launch_id: str) -> ResponseReturnValue:
    """A learner sends evidence for a statement from their page: back to it, saying so (303), or
    the page again with the problems by the fields (422)."""
    launch, placement = launch_placement(staff=False, launch_id=launch_id)
    if launch.staff:
        abort(403, description="Only learners submit evidence, each for themself.")
    raw_id = request.form.get("statement_id", "")
    if not re.fullmatch(r"[0-9]{1,10}", raw_id):
        abort(400, description="This form names no statement: reload the page and try again.")
    statement_id = int(raw_id)
    url, note = request.form.get("url", ""), request.form.get("note", "")
    try:
        evidence.submit(db.session, placement, launch.person_id, statement_id, url, note)
    except evidence.NotYours as error:
        abort(403, description=str(error))
    except evidence.TooMany as error:
        abort(429, description=str(error))
    except evidence.EvidenceError as error:
        page = learner_page(launch, placement, EvidenceForm(statement_id, url, note, error.errors))
        return page, 422
    session[EVIDENCE_SENT] = statement_id
    anchor = f"statement-{statement_id}"
    return redirect(url_for("lti.launched", launch_id=launch_id, _anchor=anchor), code=303)


def _grid_url(launch_id: str, paging: dict[str, Any], **changed: object) -> str:
    """The grid page's address with the current sort and filter, some of them changed."""
    wanted = {k: paging[k] for k in ("page", "sort", "q", "state")} | changed
    kept = {k: v for k, v in wanted.items() if v and (k, v) not in {("page", 1), ("sort", "name")}}
    return url_for("lti.launched", launch_id=launch_id, **kept)
