"""The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from lms_plugin.assessment.schemas import JudgementItemSchema, JudgementsRequestSchema

blueprint = Blueprint("openapi", __name__)

LAUNCH = [
    {
        "name": "X-LTI-Launch-Id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "The launch (from `<meta name=launch-id>`); it decides course and role.",
    }
]
CSRF = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "From `<meta name=csrf-token>` on the launched page.",
}
ERRORS = {
    "403": {"description": "No launch from this browser, wrong role, or another course's data"},
    "409": {"description": "The activity has no framework yet"},
}


def _json(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object", "properties": properties}}},
    }


def build_spec(base_url: str) -> dict[str, Any]:
    spec = APISpec(
        title="Competency Credentials API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        servers=[{"url": f"{base_url}/api/v1"}],
    )
    spec.components.schema("JudgementItem", schema=JudgementItemSchema)
    spec.components.schema("JudgementsRequest", schema=JudgementsRequestSchema)
    array = {"type": "array", "items": {"type": "object"}}
    spec.path(
        path="/grid",
        operations={
            "get": {
                "summary": "The grid of learners x statements with current verdicts (staff)",
                "parameters": LAUNCH,
                "responses": {
                    "200": _json(
                        "The grid",
                        {
                            "framework": {"type": "object"},
                            "levels": array,
                            "learners": array,
                            "cells": array,
                        },
                    ),
                    **ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/judgements",
        operations={
            "post": {
                "summary": "Record judgements, all or nothing (staff)",
                "parameters": [*LAUNCH, CSRF],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "JudgementsRequest"}},
                },
                "responses": {
                    "201": _json(
                        "Recorded, with the levels achieved and withdrawn",
                        {"judgements": array, "achieved": array, "withdrawn": array},
                    ),
                    "400": {"description": "Malformed; `index` names the first bad item"},
                    "422": {"description": "Not allowed here; `index` names the item"},
                    **ERRORS,
                },
            },
            "get": {
                "summary": "Full judgement history, newest first (staff)",
                "parameters": [
                    *LAUNCH,
                    {"name": "learner_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "statement_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json("History", {"judgements": array}), **ERRORS},
            },
        },
    )
    spec.path(
        path="/progress",
        operations={
            "get": {
                "summary": "A learner's progress: their own, or (staff) any learner of the course",
                "parameters": [
                    *LAUNCH,
                    {"name": "learner_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": _json(
                        "Progress",
                        {"learner": {"type": "object"}, "levels": array, "credentials": array},
                    ),
                    **ERRORS,
                },
            }
        },
    )
    for name in ("grid", "history"):
        spec.path(
            path=f"/export/{name}.csv",
            operations={
                "get": {
                    "summary": f"CSV export of the {name} (staff)",
                    "parameters": LAUNCH,
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {}}},
                        **ERRORS,
                    },
                }
            },
        )
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    return build_spec(current_app.config["BASE_URL"])
