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

from lms_plugin.assessment.schemas import (
    EvidenceRequestSchema,
    JudgementItemSchema,
    JudgementsRequestSchema,
)
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
                        "show_in_credential": {"type": "boolean"},
                        "judged_at": TIMESTAMP,
                        "judged_by": TEXT,
                    }
                )
            ),
            "waiting": {
                **_array(
                    _object(
                        {
                            "learner_id": ID,
                            "statement_id": ID,
                            "count": {"type": "integer", "minimum": 1},
                            "submitted_at": {
                                **TIMESTAMP,
                                "description": "When the newest of them was submitted",
                            },
                        }
                    )
                ),
                "description": "The cells shown with evidence from the learner waiting for an"
                " evaluator (submitted since the cell's latest judgement): how many submissions."
                " A judgement of the cell ends the wait (GET /judgements lists them, with"
                " `waiting` and `looked_at`)",
            },
            "paging": _object(
                {
                    "page": {"type": "integer", "minimum": 1},
                    "pages": {"type": "integer", "minimum": 1},
                    "per_page": {"type": "integer", "minimum": 1},
                    "matching": {"type": "integer", "minimum": 0},
                    "total": {"type": "integer", "minimum": 0},
                    "sort": {"enum": ["name", "progress"]},
                    "q": TEXT,
                    "state": {"enum": ["", "unjudged", "missing-level", "evidence-waiting"]},
                }
            ),
        },
        required=["framework", "levels", "learners", "cells"],
    ),
    "Judgement": _object(
        {
            "id": ID,
            "learner_id": ID,
            "statement_id": ID,
            "verdict": {"enum": ["met", "not_yet", "clear"]},
            "comment": NULLABLE_TEXT,
            "evidence_url": NULLABLE_TEXT,
            "show_in_credential": {"type": "boolean"},
            "judged_by": TEXT,
            "judged_by_id": ID,
            "judged_at": TIMESTAMP,
            "carried_over_from": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID},
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
    "History": _object(
        {
            "judgements": _array(_ref("Judgement")),
            "submissions": {
                **_array(_ref("EvidenceSubmission")),
                "description": "Evidence the learners submitted for these cells, newest first",
            },
        },
        required=["judgements"],
    ),
    "EvidenceSubmission": _object(
        {
            "id": ID,
            "learner_id": ID,
            "statement_id": ID,
            "url": TEXT,
            "note": NULLABLE_TEXT,
            "submitted_at": TIMESTAMP,
            "waiting": {
                "type": "boolean",
                "description": "No judgement of its cell has been recorded since it was submitted",
            },
            "looked_at": {
                **NULLABLE_TIMESTAMP,
                "description": "When the first judgement of its cell after it was recorded",
            },
        }
    ),
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
                        "reason": {
                            **NULLABLE_TEXT,
                            "description": "Why it was revoked (null unless revoked; this and"
                            " the next three are absent while pending)",
                        },
                        "expires": {"type": ["string", "null"], "format": "date-time"},
                        "shareable": {
                            "type": "boolean",
                            "description": "Neither revoked nor expired: it may be shared",
                        },
                        "linkedin_url": {
                            **NULLABLE_TEXT,
                            "description": "LinkedIn's add-a-certification form, filled in"
                            " (null unless shareable)",
                        },
                    },
                    required=["id", "level", "url", "status"],
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
    spec.components.schema("EvidenceRequest", schema=EvidenceRequestSchema)
    spec.path(
        path="/grid",
        operations={
            "get": {
                "summary": "The grid of learners x statements with current verdicts (staff)",
                "description": "Every learner, unless `page` is given: then 100 learners a page"
                " and `paging` in the answer. `q` (words of the name, ignoring case and accents)"
                " and `state` narrow it (`evidence-waiting`: learners with evidence waiting for an"
                " evaluator), `sort` orders it (progress: fewest statements met"
                " first). Bad parameters: 400.",
                "security": READ,
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 999_999},
                    },
                    {"name": "sort", "in": "query", "schema": {"enum": ["name", "progress"]}},
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"enum": ["unjudged", "missing-level", "evidence-waiting"]},
                    },
                ],
                "responses": {
                    "200": _answer("The grid", "Grid"),
                    "400": BAD_QUERY,
                    **LAUNCHED,
                },
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
        path="/evidence",
        operations={
            "post": {
                "summary": "Submit evidence for a statement of the activity (the learner, for"
                " themself)",
                "security": WRITE,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "EvidenceRequest"}},
                },
                "responses": {
                    "201": _answer("Kept, waiting for an evaluator", "EvidenceSubmission"),
                    "400": _error("Not JSON, or not this shape"),
                    "413": TOO_LARGE,
                    "422": _error("The link or the note cannot be used; `errors` names the field"),
                    "429": _error("Too many submissions in the last hour: nothing was kept"),
                    "503": _error("Busy: nothing was kept; retry after the `Retry-After` seconds"),
                    **LAUNCHED,
                },
            }
        },
    )
    spec.path(
        path="/credentials/{credential_id}/offer",
        operations={
            "post": {
                "summary": "Offer one of the launched learner's own credentials to a wallet: a new"
                " copy bound to the wallet's DID, picked up once within 10 minutes (OpenID4VCI"
                " offer by reference, or the VC-API exchange)",
                "security": WRITE,
                "parameters": [
                    {
                        "name": "credential_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "responses": {
                    "201": {
                        "description": "The offer (its secrets are shown only here)",
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {
                                        "offer_uri": {"type": "string"},
                                        "exchange_url": {"type": "string", "format": "uri"},
                                        "expires_at": {"type": "string", "format": "date-time"},
                                        "tx_code": {"type": "string"},
                                    },
                                    required=["offer_uri", "exchange_url", "expires_at"],
                                )
                            }
                        },
                    },
                    "404": _error("No credential with this id"),
                    "429": _error("Too many offers in the last hour: nothing was made"),
                    **LAUNCHED,
                    "409": _error(
                        "The credential is revoked or expired, or its level withdrawn (or the"
                        " activity has no competency framework yet)"
                    ),
                },
            }
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
    spec.path(
        path="/clr",
        operations={
            "get": {
                "summary": "A learner's credentials in force in this activity as one signed CLR 2.0"
                " ClrCredential (the level credentials embedded as issued, with the order of"
                " the levels): their own, or (staff) any learner of the course",
                "security": READ,
                "parameters": [
                    _id_query("learner_id", "Required for staff; a learner may name only themself"),
                    {
                        "name": "download",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["1"]},
                        "description": "Answer it as a file to save"
                        " (`<framework>-levels-<date>.json`)",
                    },
                    {
                        "name": "launch_id",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 100},
                        "description": "The launch, for links that cannot send `X-LTI-Launch-Id`",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The signed ClrCredential (CLR 2.0.1, W3C VC 2.0)",
                        "content": {
                            "application/ld+json": {
                                "schema": _object(
                                    {
                                        "@context": {"type": "array", "items": {"type": "string"}},
                                        "id": {"type": "string"},
                                        "type": {"type": "array", "items": {"type": "string"}},
                                        "issuer": {"type": "object"},
                                        "credentialSubject": {"type": "object"},
                                        "proof": {"type": "array"},
                                    },
                                    required=[
                                        "@context",
                                        "id",
                                        "type",
                                        "issuer",
                                        "credentialSubject",
                                        "proof",
                                    ],
                                )
                            }
                        },
                    },
                    "400": _error("A bad query parameter, or no `learner_id` given by staff"),
                    "404": _error("The learner holds no credential in force in this activity"),
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
    spec.path(
        path="/identity-check",
        operations={
            "post": {
                "summary": "Whether an e-mail address is the earner's (public: no launch)",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                **_object(
                                    {
                                        "credential": {
                                            "description": "The credential, or its URL",
                                            "oneOf": [{"type": "object"}, {"type": "string"}],
                                        },
                                        "email": {"type": "string", "maxLength": 320},
                                    },
                                    required=["credential", "email"],
                                ),
                                "additionalProperties": False,
                            },
                            "example": {"credential": CREDENTIAL_EXAMPLE, "email": "a@example.org"},
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Match or not; nothing else is said",
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {"match": {"type": "boolean"}}, required=["match"]
                                )
                            }
                        },
                    },
                    "400": _error("Not those two keys, not one e-mail address, or no credential"),
                    "413": TOO_LARGE,
                    "503": _error("Too many verifications at once; retry after `Retry-After`"),
                },
            }
        },
    )
    return spec.to_dict()


@blueprint.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    config = current_app.config
    return build_spec(config["BASE_URL"], config["SESSION_COOKIE_NAME"])
