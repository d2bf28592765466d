"""Marshmallow schemas for framework files in the LER.me export shape (see `seeds/`).

Unknown fields are ignored (exporters add fields); known fields must have the right types.
Levels are a JSON object whose order is the order of the levels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from lms_plugin.strict_json import CONTROL_OR_LONE_SURROGATE, json_path

# C0 controls other than tab, newline and carriage return, and DEL: canonicalizers disagree on them,
# so text carrying them could never be signed into a credential. Lone surrogates (JSON allows
# "\ud800") cannot be stored as UTF-8 at all: refused alike (judgement text uses this rule too; the
# strict JSON reader already refuses them anywhere in a framework file).
# Level keys travel comma-separated in an LTI custom parameter: no commas, no whitespace.
LEVEL_KEY = re.compile(r"^[^\s,]{1,100}$")


def no_control_characters(value: str) -> None:
    match = CONTROL_OR_LONE_SURROGATE.search(value)
    if match:
        kind = "lone surrogate" if 0xD800 <= ord(match.group()) <= 0xDFFF else "control character"
        raise ValidationError(f"contains the {kind} U+{ord(match.group()):04X}")


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty")


def text_field(
    *, required: bool = True, max_length: int | None = None, **kwargs: Any
) -> fields.String:
    """A string field that refuses control characters (and blank values when required)."""
    validators: list[Any] = [no_control_characters]
    if required:
        validators.append(not_blank)
    if max_length is not None:
        validators.append(validate.Length(max=max_length))
    if not required:
        kwargs.setdefault("load_default", "")
    return fields.String(required=required, validate=validators, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class OccupationSchema(_Strict):
    soc = text_field(max_length=32)
    title = text_field(max_length=500)
    group = text_field(required=False, max_length=500)
    sector = text_field(required=False, max_length=100)
    jobZone = fields.Integer(strict=True, allow_none=True, load_default=None)
    jobZoneInferred = fields.Boolean(load_default=False)


class LevelSchema(_Strict):
    label = text_field(max_length=500)
    statements = fields.List(
        text_field(max_length=4000),
        required=True,
        validate=validate.Length(min=1, error="a level needs at least one statement"),
    )


class LevelsField(fields.Field):
    """A JSON object of levels, loaded into an ordered list of `(key, level)` pairs."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValidationError("must be an object mapping level keys to levels")
        if not value:
            raise ValidationError("must hold at least one level")
        levels: list[tuple[str, dict[str, Any]]] = []
        errors: dict[str, Any] = {}
        schema = LevelSchema()
        for key, raw in value.items():
            if not LEVEL_KEY.match(key):
                errors[key] = ["level key must be 1-100 characters, without spaces or commas"]
                continue
            try:
                levels.append((key, schema.load(raw)))
            except ValidationError as error:
                errors[key] = error.messages
        if errors:
            raise ValidationError(errors)
        return levels


class FrameworkBodySchema(_Strict):
    # The framework's own name and identifier, when the file gives them (an occupation may have
    # several frameworks); without them the occupation's title names the framework.
    title = text_field(required=False, max_length=500)
    identifier = text_field(required=False, max_length=500)
    version = text_field(max_length=100)
    description = text_field(required=False)
    contextCovered = text_field(required=False)
    levels = LevelsField(required=True)

    @validates_schema
    def unique_statements(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """The same statement text twice in one framework would make judgements ambiguous."""
        seen: dict[str, str] = {}
        for key, level in data["levels"]:
            for index, text in enumerate(level["statements"]):
                where = json_path(("framework", "levels", key, "statements", index))
                if text in seen:
                    raise ValidationError(
                        {
                            "levels": {
                                key: {
                                    "statements": {
                                        index: [f"duplicates the statement at {seen[text]}"]
                                    }
                                }
                            }
                        }
                    )
                seen[text] = where


class FrameworkFileSchema(_Strict):
    schemaVersion = text_field(max_length=20)
    exportedAt = fields.AwareDateTime(load_default=None, allow_none=True)
    occupation = fields.Nested(OccupationSchema, required=True)
    framework = fields.Nested(FrameworkBodySchema, required=True)
    sources = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    attribution = text_field(required=False, max_length=2000)
