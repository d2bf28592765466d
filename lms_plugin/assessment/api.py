"""JSON API for judging (used by the grid page itself): `/api/v1/...`.

Every call acts under an LTI launch: the session cookie plus `X-LTI-Launch-Id` name the launch,
which decides the course, the placement and the role. State-changing calls need `X-CSRFToken`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from sqlalchemy import select

from lms_plugin.assessment import clr_export, csv_export, evidence, read_models, services
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.schemas import (
    ClrQuerySchema,
    EvidenceRequestSchema,
    HistoryQuerySchema,
    JudgementsRequestSchema,
    ProgressQuerySchema,
    first_item_index,
    plain_judgements,
)
from lms_plugin.assessment.services import JudgementError, JudgementRequest, Placement
from lms_plugin.credentials import clr
from lms_plugin.database import db
from lms_plugin.lti import current
from lms_plugin.lti.models import Enrollment, Person, ResourceLink
from lms_plugin.lti.services import LaunchContext

blueprint = Blueprint("assessment_api", __name__, url_prefix="/api/v1")


def launch_placement(staff: bool, launch_id: str | None = None) -> tuple[LaunchContext, Placement]:
    """The caller's launch and its placement; 403 without a launch or the role, 409 when the
    activity has no framework yet."""
    launch = current.current_launch(launch_id)
    if staff and not launch.staff:
        abort(403, description="Only course staff can do this.")
    link = (
        db.session.get(ResourceLink, launch.resource_link_id) if launch.resource_link_id else None
    )
    if link is None:
        abort(403, description="This launch is not an activity launch.")
    placement = services.load_placement(db.session, link)
    if placement is None:
        abort(409, description="This activity has no competency framework yet.")
    return launch, placement


def credentials_of(learner_id: int, placement: Placement) -> list[dict[str, Any]]:
    return read_models.learner_credentials(
        db.session, current_app.extensions["issuer_settings"], learner_id, placement.link.id
    )


def listeners() -> list[services.AssessmentListener]:
    return list(current_app.extensions.get("assessment_listeners", []))


def _load(schema: Any, data: Any) -> Any:
    try:
        return schema.load(data)
    except ValidationError as error:
        index = first_item_index(error.messages)
        body: dict[str, Any] = {
            "error": "Bad Request",
            "message": "invalid request",
            "errors": error.messages,
        }
        if index is not None:
            body["index"] = index
            body["message"] = f"judgement {index} is invalid"
        abort(Response(current_app.json.dumps(body), 400, mimetype="application/json"))


@blueprint.get("/grid")
def grid() -> ResponseReturnValue:
    """The grid; `?page=` (100 learners a page), `sort=name|progress`, `q=` (name) and
    `state=` narrow it, and the answer then says which page it is (`paging`)."""
    _, placement = launch_placement(staff=True)
    try:
        query = read_models.GridQuery.from_args(request.args, paged=False)
    except ValueError as error:
        abort(400, description=f"{error}.")
    return read_models.grid_json(db.session, placement, query)


@blueprint.post("/judgements")
@retry_races
def judge() -> ResponseReturnValue:
    launch, placement = launch_placement(staff=True)
    data = request.get_json(silent=True)
    items = plain_judgements(data)
    if items is None:
        items = _load(JudgementsRequestSchema(), data)["judgements"]
    evaluator = db.session.get(Person, launch.person_id)
    assert evaluator is not None
    requests_ = [JudgementRequest(**item) for item in items]
    try:
        outcome = services.record_judgements(
            db.session, placement, evaluator, requests_, listeners()
        )
    except JudgementError as error:
        answer: dict[str, Any] = {"error": "Unprocessable", "message": str(error)}
        if error.index is not None:
            answer["index"] = error.index
            answer["message"] = f"judgement {error.index}: {error}"
        return answer, 422
    names = {evaluator.id: evaluator.name or evaluator.sub}

    def levels(kind: str) -> list[dict[str, Any]]:
        return [
            {"learner_id": e.learner_id, "level": e.level.key}
            for e in outcome.events
            if e.kind == kind
        ]

    return {
        "judgements": [read_models.judgement_json(j, names) for j in outcome.judgements],
        "achieved": levels("achieved"),
        "withdrawn": levels("withdrawn"),
        "unchanged": outcome.unchanged,
    }, 201


def _require_learner(placement: Placement, learner_id: int) -> None:
    enrolled = db.session.scalar(
        select(Enrollment.id).where(
            Enrollment.course_id == placement.link.course_id,
            Enrollment.person_id == learner_id,
            Enrollment.is_staff.is_(False),
        )
    )
    if enrolled is None:
        abort(403, description="This learner is not in your course.")


@blueprint.get("/judgements")
def judgement_history() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    query = _load(HistoryQuerySchema(), request.args.to_dict())
    if query["learner_id"] is not None:
        _require_learner(placement, query["learner_id"])
    if query["statement_id"] is not None and query["statement_id"] not in placement.statements:
        abort(403, description="This statement is not in your activity.")
    rows = services.history(
        db.session, placement.link.id, query["learner_id"], query["statement_id"]
    )
    names = read_models.names(db.session, (j.judged_by_id for j in rows))
    submissions = read_models.evidence_submissions(
        db.session, placement.link.id, query["learner_id"], query["statement_id"]
    )
    return {
        "judgements": [read_models.judgement_json(j, names) for j in rows],
        "submissions": submissions,
    }


@blueprint.post("/evidence")
@retry_races
def submit_evidence() -> ResponseReturnValue:
    """A learner's evidence for a statement of their activity, for themself only."""
    launch, placement = launch_placement(staff=False)
    if launch.staff:
        abort(403, description="Only learners submit evidence, each for themself.")
    body = _load(EvidenceRequestSchema(), request.get_json(silent=True))
    try:
        submission = evidence.submit(db.session, placement, launch.person_id, **body)
    except evidence.NotYours as error:
        abort(403, description=str(error))
    except evidence.TooMany as error:
        abort(429, description=str(error))
    except evidence.EvidenceError as error:
        errors = {field: [message] for field, message in error.errors.items()}
        return {"error": "Unprocessable", "message": str(error), "errors": errors}, 422
    return read_models.evidence_json(submission), 201


def _whose(launch: LaunchContext, placement: Placement, learner_id: int | None, what: str) -> int:
    """The learner a call is about: staff name one of their course, a learner only themself."""
    if launch.staff:
        if learner_id is None:
            abort(400, description="learner_id is required for staff.")
        _require_learner(placement, learner_id)
        return learner_id
    if learner_id is not None and learner_id != launch.person_id:
        abort(403, description=f"Learners see only their own {what}.")
    return launch.person_id


@blueprint.get("/progress")
def progress() -> ResponseReturnValue:
    launch, placement = launch_placement(staff=False)
    query = _load(ProgressQuerySchema(), request.args.to_dict())
    learner = db.session.get(Person, _whose(launch, placement, query["learner_id"], "progress"))
    assert learner is not None
    return read_models.progress_json(
        db.session, placement, learner, credentials_of(learner.id, placement)
    )


@blueprint.get("/clr")
def learner_clr() -> ResponseReturnValue:
    """The learner's CLR 2.0 bundle: a signed ClrCredential holding their credentials in force
    in this activity; 404 when they hold none."""
    launch, placement = launch_placement(staff=False)  # a link names it as `launch_id`
    query = _load(ClrQuerySchema(), request.args.to_dict())
    learner_id = _whose(launch, placement, query["learner_id"], "credentials")
    settings = current_app.extensions["issuer_settings"]
    bundle = clr_export.learner_clr(db.session, settings, placement, learner_id)
    if bundle is None:
        abort(404, description="No credential in force yet: there is nothing to bundle.")
    response = Response(clr.serialize(bundle), mimetype="application/ld+json")
    if query["download"]:
        name = clr.download_name(placement.version.title, dt.datetime.now(dt.UTC).date())
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.get("/export/grid.csv")
def export_grid() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    return csv_export.csv_response(
        csv_export.grid_rows(read_models.grid_json(db.session, placement)), "grid.csv"
    )


@blueprint.get("/export/history.csv")
def export_history() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    rows = services.history(db.session, placement.link.id)
    names = read_models.names(
        db.session, {j.judged_by_id for j in rows} | {j.learner_id for j in rows}
    )
    return csv_export.csv_response(csv_export.history_rows(placement, rows, names), "history.csv")
