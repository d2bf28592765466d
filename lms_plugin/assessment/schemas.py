"""HTTP boundary of the assessment API: request validation and per-audience answers."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from lms_plugin.assessment.evidence import MAX_NOTE
from lms_plugin.assessment.models import VERDICTS
from lms_plugin.assessment.services import MAX_BATCH, MAX_COMMENT, MAX_URL
from lms_plugin.orm import MAX_ID


class RecordId(fields.Integer):
    """An id of one of our rows: a whole number within the database's integer range. As in JSON
    Schema (the OpenAPI document), `7.0` is the whole number 7; `true` and `"7"` are not numbers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        result: int = super()._deserialize(value, attr, data, **kwargs)
        return result


class QueryId(RecordId):
    """A `RecordId` in a query string: ASCII digits only (int() would take "1_0", " 7", "٧")."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,20}", value):
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow also takes "yes", 1, 0, ...)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: true or false.")
        return value


KEEP_OR_SET = (
    "The {what} of this judgement; an empty string: none. Absent or null: with the cell's current"
    " verdict, the current {what} stays; with another verdict, none. An item that leaves the cell"
    " as it is (same verdict, {what} and the other field) records nothing: see `unchanged`."
)


class JudgementItemSchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = RecordId(required=True)
    statement_id = RecordId(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    comment = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_COMMENT),
        metadata={"description": KEEP_OR_SET.format(what="comment")},
    )
    evidence_url = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_URL),
        metadata={"description": KEEP_OR_SET.format(what="evidence link") + " An http(s) URL."},
    )
    show_in_credential = StrictBoolean(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Whether the comment is shown in the learner's credential (evidence)."
            " Absent or null: as it is, except that a new or changed comment is not shown."
        },
    )


class JudgementsRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    judgements = fields.List(
        fields.Nested(JudgementItemSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


_ITEM_FIELDS = frozenset(JudgementItemSchema().fields)
_REQUIRED = frozenset({"learner_id", "statement_id", "verdict"})
_TEXTS = (("comment", MAX_COMMENT), ("evidence_url", MAX_URL))


def plain_judgements(data: Any) -> list[dict[str, Any]] | None:
    """The items of a judgements request as `JudgementsRequestSchema` loads them, read without
    marshmallow (a fifth of a bulk save's time), for the plain body only: ids as JSON integers,
    no unknown or doubtful field. None when anything is not plain: the schema then decides, and
    words its refusal."""
    if type(data) is not dict or data.keys() != {"judgements"}:
        return None
    items = data["judgements"]
    if type(items) is not list or not 1 <= len(items) <= MAX_BATCH:
        return None
    loaded = []
    for item in items:
        if type(item) is not dict or not _REQUIRED <= item.keys() <= _ITEM_FIELDS:
            return None
        for name in ("learner_id", "statement_id"):
            value = item[name]
            if type(value) is not int or not 1 <= value <= MAX_ID:
                return None
        verdict = item["verdict"]
        if type(verdict) is not str or verdict not in VERDICTS:
            return None
        for name, limit in _TEXTS:
            text = item.get(name)
            if text is not None and (type(text) is not str or len(text) > limit):
                return None
        shown = item.get("show_in_credential")
        if shown is not None and type(shown) is not bool:
            return None
        loaded.append(
            {
                "learner_id": item["learner_id"],
                "statement_id": item["statement_id"],
                "verdict": verdict,
                "comment": item.get("comment"),
                "evidence_url": item.get("evidence_url"),
                "show_in_credential": shown,
            }
        )
    return loaded


class EvidenceRequestSchema(Schema):
    """A learner's evidence for one statement of their activity (themself: no learner id)."""

    class Meta:
        unknown = RAISE

    statement_id = RecordId(required=True)
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL),
        metadata={"description": "The evidence: an http(s) URL with a host (no user name)."},
    )
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_NOTE),
        metadata={"description": "For the evaluator; empty or null: none."},
    )


class HistoryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = QueryId(load_default=None)
    statement_id = QueryId(load_default=None)


class ProgressQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = QueryId(load_default=None)


class ClrQuerySchema(ProgressQuerySchema):
    """`GET /api/v1/clr`: whose (staff), `download=1` to save it as a file, and the launch (a
    link from the learner's page names it here, as it cannot send the header)."""

    download = fields.String(load_default=None, validate=validate.Equal("1"))
    launch_id = fields.String(load_default=None, validate=validate.Length(max=100))


def first_item_index(messages: Any) -> int | None:
    """The index of the first bad item in a marshmallow error for `judgements`."""
    items = messages.get("judgements") if isinstance(messages, dict) else None
    if isinstance(items, dict):
        indexes = [key for key in items if isinstance(key, int)]
        return min(indexes) if indexes else None
    return None
