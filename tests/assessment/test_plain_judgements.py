"""The judgements request read without marshmallow (`plain_judgements`) loads exactly what the
schema loads, and declines whatever the schema refuses (the schema then words the refusal)."""

from __future__ import annotations

import random
from typing import Any

from marshmallow import ValidationError

from lms_plugin.assessment.schemas import JudgementsRequestSchema, plain_judgements
from lms_plugin.assessment.services import MAX_BATCH, MAX_COMMENT, MAX_URL
from lms_plugin.orm import MAX_ID
from tests.assessment.test_api_hostile import hostile_values

GOOD: dict[str, Any] = {"learner_id": 3, "statement_id": 7, "verdict": "met"}


def schema_load(body: Any) -> list[dict[str, Any]] | None:
    try:
        return list(JudgementsRequestSchema().load(body)["judgements"])
    except ValidationError:
        return None


def test_a_plain_bulk_body_is_read_without_the_schema() -> None:
    body = {
        "judgements": [
            {**GOOD, "learner_id": learner, "comment": "bench", "show_in_credential": True}
            for learner in range(1, 31)
        ]
        + [{**GOOD, "verdict": "not_yet", "evidence_url": None, "comment": ""}]
    }
    loaded = plain_judgements(body)
    assert loaded is not None
    assert loaded == schema_load(body)


def test_it_loads_what_the_schema_loads_and_declines_what_it_refuses() -> None:
    rng = random.Random(20261201)  # noqa: S311 - reproducible test data, not cryptography
    values = [
        *hostile_values(),
        1,
        MAX_ID,
        MAX_ID + 1,
        7.0,
        False,
        "met",
        "not_yet",
        "clear",
        "MET",
        "x" * MAX_COMMENT,
        "x" * (MAX_COMMENT + 1),
        "y" * MAX_URL,
        "y" * (MAX_URL + 1),
    ]
    fields = [
        "learner_id",
        "statement_id",
        "verdict",
        "comment",
        "evidence_url",
        "show_in_credential",
        "extra",
    ]
    bodies: list[Any] = [
        None,
        [],
        [GOOD],
        {},
        {"judgements": []},
        {"judgements": None},
        {"judgements": [GOOD] * (MAX_BATCH + 1)},
        {"judgements": (GOOD,)},
        {"judgements": [GOOD], "extra": 1},
        {"judgements": [None]},
    ]
    for _ in range(3000):
        item = dict(GOOD)
        for name in rng.sample(fields, rng.randint(0, 3)):
            if rng.random() < 0.15:
                item.pop(name, None)
            else:
                item[name] = rng.choice(values)
        bodies.append({"judgements": [GOOD, item]})
    accepted = declined_valid = 0
    for body in bodies:
        expected = schema_load(body)
        loaded = plain_judgements(body)
        if loaded is None:
            declined_valid += expected is not None
            continue
        assert loaded == expected, body
        accepted += 1
    assert accepted > 300  # the random bodies exercise the plain path, not only refusals
    assert declined_valid < accepted  # doubtful but valid bodies (7.0) go to the schema
