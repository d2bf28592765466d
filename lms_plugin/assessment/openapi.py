"""The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`.

It describes what the API really answers: tests/test_openapi_conformance.py runs schemathesis over
it as staff and as a learner, and fails on any answer the document does not describe.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from lms_plugin.assessment.schemas import JudgementItemSchema, JudgementsRequestSchema
from lms_plugin.orm import MAX_ID

blueprint = Blueprint("openapi", __name__)

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    """An object with these properties, all present unless `required` names fewer."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        {
            "error": TEXT,
            "message": TEXT,
            "errors": {"description": "Per-field problems (marshmallow's shape)"},
            "index": {"type": "integer", "minimum": 0, "description": "The first bad item"},
        },
        required=["error", "message"],
    ),
    "Grid": _object(
        {
            "framework": _object({"id": ID, "title": TEXT, "version": TEXT}),
            "levels": _array(
                _object(
                    {
                        "key": TEXT,
                        "label": TEXT,
                        "statements": _array(_object({"id": ID, "text": TEXT})),
                    }
                )
            ),
            "learners": _array(_object({"id": ID, "name": TEXT, "achieved": _array(TEXT)})),
            "cells": _array(
                _object(
                    {
                        "learner_id": ID,
                        "statement_id": ID,
                        "verdict": {"enum": ["met", "not_yet"]},
                        "comment": NULLABLE_TEXT,
                        "evidence_url": NULLABLE_TEXT,
                        "judged_at": TIMESTAMP,
                        "judged_by": TEXT,
                    }
                )
            ),
        }
    ),
    "Judgement": _object(
        {
            "id": ID,
            "learner_id": ID,
            "statement_id": ID,
            "verdict": {"enum": ["met", "not_yet", "clear"]},
            "comment": NULLABLE_TEXT,
            "evidence_url": NULLABLE_TEXT,
            "judged_by": TEXT,
            "judged_by_id": ID,
            "judged_at": TIMESTAMP,
        }
    ),
    "Judged": _object(
        {
            "judgements": _array(_ref("Judgement")),
            "achieved": _array(_ref("LevelChange")),
            "withdrawn": _array(_ref("LevelChange")),
            "unchanged": {
                **_array({"type": "integer", "minimum": 0}),
                "description": "Indexes of the items that left their cell as it was: nothing"
                " recorded for them (not in `judgements`)",
            },
        }
    ),
    "LevelChange": _object({"learner_id": ID, "level": TEXT}),
    "History": _object({"judgements": _array(_ref("Judgement"))}),
    "Progress": _object(
        {
            "learner": _object({"id": ID, "name": TEXT}),
            "levels": _array(
                _object(
                    {
                        "key": TEXT,
                        "label": TEXT,
                        "achieved": {"type": "boolean"},
                        "statements": _array(
                            _object(
                                {
                                    "id": ID,
                                    "text": TEXT,
                                    "verdict": {"enum": ["met", "not_yet", "pending"]},
                                    "comment": NULLABLE_TEXT,
                                    "evidence_url": NULLABLE_TEXT,
                                    "judged_at": {
                                        "type": ["string", "null"],
                                        "format": "date-time",
                                        "description": "When the current verdict was recorded"
                                        " (null while pending)",
                                    },
                                }
                            )
                        ),
                    }
                )
            ),
            "credentials": _array(
                _object(
                    {
                        "id": NULLABLE_TEXT,
                        "level": TEXT,
                        "url": NULLABLE_TEXT,
                        "status": {"enum": ["pending", "active", "revoked"]},
                    }
                )
            ),
        }
    ),
    "Verification": _object(
        {
            "verified": {"type": "boolean"},
            "checks": _array(
                _object(
                    {
                        "check": TEXT,
                        "passed": {
                            "type": ["boolean", "null"],
                            "description": "null: not checked (an earlier check failed)",
                        },
                        "message": TEXT,
                    }
                )
            ),
            "errors": _array(TEXT),
            "credential": {
                "oneOf": [_ref("CredentialFacts"), {"type": "null"}],
                "description": "What the credential says, shown whether or not it verified"
                " (null: the input was not read at all)",
            },
        }
    ),
    "CredentialFacts": _object(
        {
            "name": NULLABLE_TEXT,
            "achievement": _object(
                {
                    "id": NULLABLE_TEXT,
                    "name": NULLABLE_TEXT,
                    "level": NULLABLE_TEXT,
                    "framework": NULLABLE_TEXT,
                    "version": NULLABLE_TEXT,
                    "statements": _array(_object({"text": NULLABLE_TEXT, "url": NULLABLE_TEXT})),
                }
            ),
            "issuer": _object(
                {
                    "id": NULLABLE_TEXT,
                    "name": NULLABLE_TEXT,
                    "url": NULLABLE_TEXT,
                    "trust": {
                        "enum": ["self", "registry", "unknown"],
                        "description": "self: this tool or one of its issuer profiles; registry:"
                        " in a trust list the operator configured; unknown: neither",
                    },
                    "registry": {
                        **NULLABLE_TEXT,
                        "description": "The trust list naming the issuer (when `registry`)",
                    },
                }
            ),
            "earner": _object({"name": NULLABLE_TEXT}),
            "issued": NULLABLE_TIMESTAMP,
            "expires": NULLABLE_TIMESTAMP,
            "status": _object(
                {
                    "revoked": {
                        "type": ["boolean", "null"],
                        "description": "null: the revocation status could not be checked",
                    },
                    "reason": {
                        **NULLABLE_TEXT,
                        "description": "Only for this tool's own credentials",
                    },
                    "revoked_at": {
                        **NULLABLE_TIMESTAMP,
                        "description": "Only for this tool's own credentials",
                    },
                }
            ),
        }
    ),
}

# Calls under a launch: the launch id and, to open its session, the session cookie or (for a
# cookieless launch in an LMS frame) the launch's CSRF token. State changes need the token always.
SECURITY_SCHEMES = {
    "launch": {
        "type": "apiKey",
        "in": "header",
        "name": "X-LTI-Launch-Id",
        "description": "The launch (`<meta name=launch-id>`); it decides course, placement, role.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "The launched page's `<meta name=csrf-token>`.",
    },
}
READ = [{"launch": [], "session": []}, {"launch": [], "csrf": []}]
# An unsigned Open Badges 3.0 credential: it answers 200 with `verified` false (no proof).
CREDENTIAL_EXAMPLE = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:example.org", "type": ["Profile"], "name": "Example College"},
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.org/achievements/1",
            "type": ["Achievement"],
            "name": "Emerging",
            "description": "Every statement of the level met.",
            "criteria": {"narrative": "Judged by the course staff."},
        },
    },
}
WRITE = [{"launch": [], "csrf": [], "session": []}, {"launch": [], "csrf": []}]


def _answer(description: str, schema: str | None = None, media: str = "application/json") -> Any:
    content = {media: {"schema": _ref(schema)} if schema else {}}
    return {"description": description, "content": content}


def _error(description: str) -> dict[str, Any]:
    return _answer(description, "Error")


LAUNCHED = {
    "403": _error(
        "No launch of this browser, the wrong role, another course's learner or statement, or a "
        "missing or wrong CSRF token"
    ),
    "409": _error("The activity has no competency framework yet"),
    "414": {"description": "The request line is too long (answered by the server)"},
}
BAD_QUERY = _error("A query parameter is not a valid id, or is unknown")
TOO_LARGE = _error("The body is larger than the server accepts (`MAX_CONTENT_LENGTH`)")


def _id_query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": ID, "description": description}


def build_spec(base_url: str, session_cookie: str) -> dict[str, Any]:
    spec = APISpec(
        title="Competency Credentials API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        servers=[{"url": f"{base_url}/api/v1"}],
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": session_cookie}
    )
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.components.schema("JudgementItem", schema=JudgementItemSchema)
    spec.components.schema("JudgementsRequest", schema=JudgementsRequestSchema)
    spec.path(
        path="/grid",
        operations={
            "get": {
                "summary": "The grid of learners x statements with current verdicts (staff)",
                "security": READ,
                "responses": {"200": _answer("The grid", "Grid"), **LAUNCHED},
            }
        },
    )
    spec.path(
        path="/judgements",
        operations={
            "post": {
                "summary": "Record judgements, all or nothing (staff)",
                "security": WRITE,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "JudgementsRequest"}},
                },
                "responses": {
                    "201": _answer(
                        "Recorded, with the levels achieved and withdrawn; items that change"
                        " nothing are listed in `unchanged`",
                        "Judged",
                    ),
                    "400": _error("Not JSON, or not this shape; `index` names the first bad item"),
                    "413": TOO_LARGE,
                    "422": _error("Not allowed here; `index` names the item"),
                    "503": _error(
                        "Other evaluators kept this learner busy: nothing was saved; retry after"
                        " the `Retry-After` seconds"
                    ),
                    **LAUNCHED,
                },
            },
            "get": {
                "summary": "Full judgement history, newest first (staff)",
                "security": READ,
                "parameters": [
                    _id_query("learner_id", "Only this learner's"),
                    _id_query("statement_id", "Only this statement's"),
                ],
                "responses": {
                    "200": _answer("History", "History"),
                    "400": BAD_QUERY,
                    **LAUNCHED,
                },
            },
        },
    )
    spec.path(
        path="/progress",
        operations={
            "get": {
                "summary": "A learner's progress: their own, or (staff) any learner of the course",
                "security": READ,
                "parameters": [
                    _id_query("learner_id", "Required for staff; a learner may name only themself")
                ],
                "responses": {
                    "200": _answer("Progress", "Progress"),
                    "400": _error("A bad `learner_id`, or none given by staff"),
                    **LAUNCHED,
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
                    "security": READ,
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {}}},
                        **LAUNCHED,
                    },
                }
            },
        )
    spec.path(
        path="/verify",
        operations={
            "post": {
                "summary": "Verify a credential given as the JSON body (public: no launch)",
                "security": [],
                "requestBody": {
                    "required": True,
                    "description": "The credential (a W3C Verifiable Credential), as JSON",
                    "content": {
                        media: {"schema": {"type": "object"}, "example": CREDENTIAL_EXAMPLE}
                        for media in ("application/json", "application/ld+json")
                    },
                },
                "responses": {
                    "200": _answer(
                        "The verdict with every check (`verified` false when any failed)",
                        "Verification",
                    ),
                    "400": _answer("Not a JSON object at all", "Verification"),
                    "413": TOO_LARGE,
                    "414": LAUNCHED["414"],
                    "503": _answer(
                        "Too many verifications at once: nothing was checked; retry after the"
                        " `Retry-After` seconds",
                        "Verification",
                    ),
                },
            }
        },
    )
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    config = current_app.config
    return build_spec(config["BASE_URL"], config["SESSION_COOKIE_NAME"])
