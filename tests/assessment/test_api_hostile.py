"""Hostile bodies for the judging API: never a 5xx; a refused request names its problem and saves
nothing (some random bodies are valid, and are saved)."""

from __future__ import annotations

import json
import random
from typing import Any

from flask import Flask

from lms_plugin.assessment.models import Judgement
from tests.assessment.test_api import count
from tests.courses import Course


def hostile_values() -> list[Any]:
    return [
        None,
        True,
        -1,
        0,
        2**31,
        2**63,
        1.5,
        "1",
        "",
        "x" * 10_000,
        [],
        {},
        [1],
        {"a": 1},
        "\x00",
        "\ud800",
        "<script>",
    ]


def test_random_hostile_items_never_crash_and_refusals_save_nothing(
    app: Flask, course: Course
) -> None:
    rng = random.Random(20261122)  # noqa: S311 - reproducible test data, not cryptography
    good = {
        "learner_id": course.learner_ids[0],
        "statement_id": course.statements["emerging"][0],
        "verdict": "met",
    }
    values = hostile_values()
    bodies: list[Any] = [None, [], "judgements", {"judgements": None}, {"judgements": [None]}]
    for _ in range(60):
        item = dict(good)
        for key in rng.sample(
            ["learner_id", "statement_id", "verdict", "comment", "evidence_url", "extra"], 2
        ):
            item[key] = rng.choice(values)
        bodies.append({"judgements": [good, item]})
    refused = 0
    for body in bodies:
        before = count(app, Judgement)
        response = course.staff.client.post(
            "/api/v1/judgements",
            headers=course.staff.headers,
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code < 500, (body, response.status_code)
        if response.status_code != 201:
            refused += 1
            assert 400 <= response.status_code < 500
            assert response.json is not None and "message" in response.json
            assert count(app, Judgement) == before
    assert refused > len(bodies) // 2


def test_unstorable_judgement_text_is_refused_by_name(app: Flask, course: Course) -> None:
    """A lone surrogate (a valid JSON escape that UTF-8 cannot store) or a control character in a
    comment or evidence link is a 422 naming the field, never a database error."""
    for field, text in [
        ("comment", "\ud800"),
        ("comment", "a\x07b"),
        ("evidence_url", "https://example.org/\udfff"),
    ]:
        item = {
            "learner_id": course.learner_ids[0],
            "statement_id": course.statements["emerging"][0],
            "verdict": "met",
            field: text,
        }
        response = course.staff.client.post(
            "/api/v1/judgements",
            headers=course.staff.headers,
            data=json.dumps({"judgements": [item]}),
            content_type="application/json",
        )
        assert response.status_code == 422, (field, text, response.status_code)
        assert field in response.json["message"]
        assert count(app, Judgement) == 0


def test_evidence_links_that_are_not_web_links_are_refused_by_name(
    app: Flask, course: Course
) -> None:
    """Links `urlsplit` cannot read (an unclosed IPv6 host, a port out of range), and links that
    hide their site behind a user name, are a 422 naming the item and the field, never a 500."""
    good = {
        "learner_id": course.learner_ids[0],
        "statement_id": course.statements["emerging"][0],
        "verdict": "met",
    }
    for url in [
        "http://[::1",
        "https://example.org:99999/",
        "https://trusted.example@elsewhere.example/",
        "ftp://example.org/file",
        "https:///no-host",
    ]:
        response = course.staff.client.post(
            "/api/v1/judgements",
            headers=course.staff.headers,
            data=json.dumps({"judgements": [good, good | {"evidence_url": url}]}),
            content_type="application/json",
        )
        assert response.status_code == 422, (url, response.status_code)
        assert response.json["index"] == 1
        assert response.json["message"].startswith("judgement 1: evidence_url must be"), url
        assert count(app, Judgement) == 0
