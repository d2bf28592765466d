"""HTTP boundary of the assessment API: request validation and per-audience answers."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from lms_plugin.assessment.models import VERDICTS
from lms_plugin.assessment.services import MAX_BATCH, MAX_COMMENT, MAX_URL
from lms_plugin.orm import MAX_ID


def record_id(**kwargs: Any) -> fields.Integer:
    """An id of one of our rows: a whole number within the database's integer range."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class JudgementItemSchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = record_id(required=True)
    statement_id = record_id(required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    comment = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_COMMENT)
    )
    evidence_url = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_URL)
    )


class JudgementsRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    judgements = fields.List(
        fields.Nested(JudgementItemSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class HistoryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    statement_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class ProgressQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    learner_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


def first_item_index(messages: Any) -> int | None:
    """The index of the first bad item in a marshmallow error for `judgements`."""
    items = messages.get("judgements") if isinstance(messages, dict) else None
    if isinstance(items, dict):
        indexes = [key for key in items if isinstance(key, int)]
        return min(indexes) if indexes else None
    return None
