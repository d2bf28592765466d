"""JSON API for judging (used by the grid page itself): `/api/v1/...`.

Every call acts under an LTI launch: the session cookie plus `X-LTI-Launch-Id` name the launch,
which decides the course, the placement and the role. State-changing calls need `X-CSRFToken`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from sqlalchemy import Row, select

from lms_plugin.assessment import read_models, services
from lms_plugin.assessment.models import Judgement
from lms_plugin.assessment.retry import retry_races
from lms_plugin.assessment.schemas import (
    HistoryQuerySchema,
    JudgementsRequestSchema,
    ProgressQuerySchema,
    first_item_index,
)
from lms_plugin.assessment.services import JudgementError, JudgementRequest, Placement
from lms_plugin.database import db
from lms_plugin.lti import current
from lms_plugin.lti.models import Enrollment, Person, ResourceLink
from lms_plugin.lti.services import LaunchContext
from lms_plugin.orm import utc_iso

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


def _names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Person.id, Person.name, Person.sub).where(Person.id.in_(wanted))
    )
    return {row.id: row.name or row.sub for row in rows}


def judgement_json(judgement: Judgement, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": judgement.id,
        "learner_id": judgement.learner_id,
        "statement_id": judgement.statement_id,
        "verdict": judgement.verdict,
        "comment": judgement.comment,
        "evidence_url": judgement.evidence_url,
        "judged_by": names.get(judgement.judged_by_id, ""),
        "judged_by_id": judgement.judged_by_id,
        "judged_at": utc_iso(judgement.judged_at),
    }


def grid_json(placement: Placement) -> dict[str, Any]:
    """The whole grid in a constant number of queries, whatever the number of learners."""
    people = services.learners(db.session, placement.link.course_id)
    verdicts = services.current_verdicts(db.session, placement.link.id)
    level_keys = {level.id: level.key for level in placement.levels}
    achieved: dict[int, list[str]] = {}
    for achievement in services.active_achievements(db.session, placement.link.id):
        if achievement.level_id in level_keys:
            achieved.setdefault(achievement.learner_id, []).append(level_keys[achievement.level_id])
    names = _names(j.judged_by_id for j in verdicts.values())
    learner_ids = {p.id for p in people}
    return {
        "framework": {
            "id": placement.version.id,
            "title": placement.version.title,
            "version": placement.version.version_label,
        },
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "statements": [{"id": s.id, "text": s.text} for s in level.statements],
            }
            for level in placement.levels
        ],
        "learners": [
            {"id": p.id, "name": p.name or p.sub, "achieved": achieved.get(p.id, [])}
            for p in people
        ],
        "cells": [
            {
                "learner_id": j.learner_id,
                "statement_id": j.statement_id,
                "verdict": j.verdict,
                "judged_at": utc_iso(j.judged_at),
                "judged_by": names.get(j.judged_by_id, ""),
            }
            for j in verdicts.values()
            if j.verdict != "clear"
            and j.learner_id in learner_ids
            and j.statement_id in placement.statements
        ],
    }


@blueprint.get("/grid")
def grid() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    return grid_json(placement)


@blueprint.post("/judgements")
@retry_races
def judge() -> ResponseReturnValue:
    launch, placement = launch_placement(staff=True)
    body = _load(JudgementsRequestSchema(), request.get_json(silent=True))
    evaluator = db.session.get(Person, launch.person_id)
    assert evaluator is not None
    requests_ = [JudgementRequest(**item) for item in body["judgements"]]
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
        "judgements": [judgement_json(j, names) for j in outcome.judgements],
        "achieved": levels("achieved"),
        "withdrawn": levels("withdrawn"),
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
    names = _names(j.judged_by_id for j in rows)
    return {"judgements": [judgement_json(j, names) for j in rows]}


def progress_json(
    placement: Placement, learner: Person, credentials: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    verdicts = services.current_verdicts(db.session, placement.link.id, [learner.id])
    achieved = {
        a.level_id
        for a in services.active_achievements(db.session, placement.link.id, [learner.id])
    }
    return {
        "learner": {"id": learner.id, "name": learner.name or learner.sub},
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "achieved": level.id in achieved,
                "statements": [
                    {
                        "id": s.id,
                        "text": s.text,
                        "verdict": _verdict(verdicts.get((learner.id, s.id))),
                        "comment": _comment(verdicts.get((learner.id, s.id))),
                    }
                    for s in level.statements
                ],
            }
            for level in placement.levels
        ],
        "credentials": list(credentials),
    }


def _verdict(judgement: Row[Any] | None) -> str:
    return "pending" if judgement is None or judgement.verdict == "clear" else judgement.verdict


def _comment(judgement: Row[Any] | None) -> str | None:
    return None if judgement is None or judgement.verdict == "clear" else judgement.comment


@blueprint.get("/progress")
def progress() -> ResponseReturnValue:
    launch, placement = launch_placement(staff=False)
    query = _load(ProgressQuerySchema(), request.args.to_dict())
    learner_id = query["learner_id"]
    if launch.staff:
        if learner_id is None:
            abort(400, description="learner_id is required for staff.")
        _require_learner(placement, learner_id)
    elif learner_id is not None and learner_id != launch.person_id:
        abort(403, description="Learners see only their own progress.")
    learner = db.session.get(Person, learner_id if learner_id is not None else launch.person_id)
    assert learner is not None
    return progress_json(placement, learner, credentials_of(learner.id, placement))


def _csv(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_safe_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _safe_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@blueprint.get("/export/grid.csv")
def export_grid() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    data = grid_json(placement)
    statements = [(level["key"], s) for level in data["levels"] for s in level["statements"]]
    cells = {(c["learner_id"], c["statement_id"]): c["verdict"] for c in data["cells"]}
    header = ["learner_id", "learner", "levels_achieved"] + [
        f"{key}: {s['text']}" for key, s in statements
    ]
    rows = [
        [p["id"], p["name"], " ".join(p["achieved"])]
        + [cells.get((p["id"], s["id"]), "") for _, s in statements]
        for p in data["learners"]
    ]
    return _csv([header, *rows], "grid.csv")


@blueprint.get("/export/history.csv")
def export_history() -> ResponseReturnValue:
    _, placement = launch_placement(staff=True)
    rows = services.history(db.session, placement.link.id)
    names = _names({j.judged_by_id for j in rows} | {j.learner_id for j in rows})
    header = [
        "id",
        "judged_at",
        "learner_id",
        "learner",
        "statement_id",
        "statement",
        "verdict",
        "comment",
        "evidence_url",
        "judged_by",
    ]
    return _csv(
        [header]
        + [
            [
                j.id,
                utc_iso(j.judged_at),
                j.learner_id,
                names.get(j.learner_id, ""),
                j.statement_id,
                placement.statements[j.statement_id].text
                if j.statement_id in placement.statements
                else "",
                j.verdict,
                j.comment,
                j.evidence_url,
                names.get(j.judged_by_id, ""),
            ]
            for j in rows
        ],
        "history.csv",
    )
