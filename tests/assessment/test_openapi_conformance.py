"""Schemathesis over `/api/v1/openapi.json`, as course staff and as a learner, on SQLite and
PostgreSQL: no answer is a server error and every answer is documented (status code, content type,
body schema); invalid input is refused, valid input accepted, undeclared methods answer 405.

First a few real calls with the course's own ids (so that answers carry judgements, achievements
and a pending credential), then, per operation, schemathesis's examples, coverage (boundary values)
and fuzzing phases. Bounded for `make test`; for a longer run:
`SCHEMATHESIS_MAX_EXAMPLES=1000 .venv/bin/pytest tests/test_openapi_conformance.py`.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from schemathesis import Case

# The plugin's lazy-schema runner needs pytest < 9 (it renames test items); its builder does not.
from schemathesis.pytest.lazy import get_all_tests

from tests.courses import Course, Session

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
# Explicit, so that a Hypothesis profile loaded elsewhere (tests/fuzz) does not change the budget.
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
OPERATIONS = [
    "GET /clr",
    "GET /export/grid.csv",
    "GET /export/history.csv",
    "GET /grid",
    "GET /judgements",
    "GET /progress",
    "POST /credentials/{credential_id}/offer",
    "POST /evidence",
    "POST /identity-check",
    "POST /judgements",
    "POST /verify",
]


def config(staff: bool) -> schemathesis.Config:
    """Every check, the stateful phase aside (a course's ids are not discoverable by links)."""
    # Answers to well-formed requests that the document describes and JSON Schema cannot foresee:
    # a batch item naming a learner or statement outside the activity (422, naming the item),
    # evidence for a statement outside it (403) or with a link that is no web link (422) and,
    # for staff only, progress without the `learner_id` a learner may leave out (400).
    operations: list[dict[str, Any]] = [
        {
            "include-name": "POST /judgements",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 403, 422]}},
        },
        {
            "include-name": "POST /evidence",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 403, 422]}},
        },
        # Any UUID fits the schema: almost none is a credential (404), none is staff's (403).
        {
            "include-name": "POST /credentials/{credential_id}/offer",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 403, 404]}},
        },
        # Any text fits the schema's e-mail and URL: most are not one address, or not readable.
        {
            "include-name": "POST /identity-check",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 400]}},
        },
    ]
    if staff:
        operations.append(
            {
                "include-name": "GET /progress",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 400, 403]}},
            }
        )
    # A CLR needs a credential in force (404 until one is signed), of a learner of the course.
    operations.append(
        {
            "include-name": "GET /clr",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 400, 403, 404]}},
        }
    )
    return schemathesis.Config.from_dict(
        {
            "seed": 20261201,
            # The launch's own id, token and cookie are sent with every case, never generated.
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            # A body over the size limit is refused before it is read: 413 is a refusal too.
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 403, 404, 405, 406, 409, 413, 415, 422]
                }
            },
            "operations": operations,
        }
    )


class Caller:
    """Sends schemathesis cases as one launched browser (cookie, launch id, CSRF token)."""

    def __init__(self, app: Flask, browser: Session) -> None:
        cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        self.browser = browser
        self.cookies = {cookie.key: cookie.value}

    def __call__(self, case: Case, expect: int | None = None) -> None:
        response = case.call_and_validate(
            session=self.browser.client, headers=self.browser.headers, cookies=self.cookies
        )
        if expect is not None:
            assert response.status_code == expect, response.text


def real_calls(schema: Any, course: Course, staff: Caller, me: Caller) -> None:
    """Calls with ids of this course, checked like the generated ones: a level achieved (its
    credential pending), its history, the grid, progress, exports and a learner's evidence (then
    in the history too)."""
    learner = course.learner_ids[0]
    items = [
        {"learner_id": learner, "statement_id": statement, "verdict": "met", "comment": "Good"}
        for statement in course.statements["emerging"]
    ]
    staff(schema["/judgements"]["POST"].Case(body={"judgements": items}), 201)
    staff(schema["/judgements"]["GET"].Case(query={"learner_id": learner}), 200)
    staff(schema["/progress"]["GET"].Case(query={"learner_id": learner}), 200)
    for path in ("/grid", "/export/grid.csv", "/export/history.csv"):
        staff(schema[path]["GET"].Case(), 200)
    me(schema["/progress"]["GET"].Case(), 200)
    me(schema["/clr"]["GET"].Case(), 404)  # its credential is still being signed
    evidence = {"statement_id": items[0]["statement_id"], "url": "https://example.org/log"}
    me(schema["/evidence"]["POST"].Case(body={**evidence, "note": "My log"}), 201)
    staff(schema["/judgements"]["GET"].Case(query={"learner_id": learner}), 200)


@pytest.mark.parametrize("who", ["staff", "learner"])
def test_the_api_answers_as_documented(app: Flask, course: Course, who: str) -> None:
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=config(staff=who == "staff")
    )
    staff, learner = Caller(app, course.staff), Caller(app, course.learners[0])
    real_calls(schema, course, staff, learner)
    caller = staff if who == "staff" else learner

    failures: list[str] = []
    operations: list[str] = []
    for built in get_all_tests(
        schema=schema, test_func=lambda case: caller(case), settings=SETTINGS, given_kwargs={}
    ):
        operation, test = built.ok()
        operations.append(operation.label)
        try:
            test()
        except (Exception, BaseExceptionGroup) as error:  # every operation reports, then one assert
            failures.append(f"{operation.label}:\n{str(error)[:3000]}")
    assert not failures, "\n\n".join(failures)
    assert sorted(operations) == OPERATIONS


def test_ids_are_whole_numbers_as_the_document_says(app: Flask, course: Course) -> None:
    """JSON Schema's integer: 7.0 is 7; true and "7" are not; a query id is ASCII digits."""
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    judged = course.staff.post(
        "/api/v1/judgements",
        {
            "judgements": [
                {"learner_id": float(learner), "statement_id": statement, "verdict": "met"}
            ]
        },
    )
    assert judged.status_code == 201, judged.json
    assert judged.json["judgements"][0]["learner_id"] == learner
    for bad in (True, str(learner), learner + 0.5, 0):
        item = {"learner_id": bad, "statement_id": statement, "verdict": "met"}
        refused = course.staff.post("/api/v1/judgements", {"judgements": [item]})
        assert refused.status_code == 400 and refused.json["index"] == 0, bad
    history = course.staff.get("/api/v1/judgements", query_string={"learner_id": str(learner)})
    assert history.status_code == 200 and len(history.json["judgements"]) == 1
    for bad in (f"{learner}.0", f" {learner}", "1_0", "\u0661", "0", ""):
        answer = course.staff.get("/api/v1/judgements", query_string={"learner_id": bad})
        assert answer.status_code == 400, bad


def test_an_undeclared_method_answers_405_naming_the_allowed_ones(course: Course) -> None:
    answer = course.staff.client.delete("/api/v1/judgements", headers=course.staff.headers)
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert answer.json["error"] == "Method Not Allowed"
