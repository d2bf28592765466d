"""Judging through the app, then the delivery worker, then reading the statements back from a
real LRS (Ralph), and validating them with `@learninglocker/xapi-validation`."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask

from tests.courses import Course
from tests.lti.platform import LtiPlatform
from tests.xapi.conftest import by_verb, lrs_config, outbox, statements
from tests.xapi.lrs_tools import Ralph, validate_statements
from xapi import statements as vocabulary


def test_judgements_reach_the_lrs_as_valid_statements(
    make_app: Callable[..., Flask],
    platform: LtiPlatform,
    version_id: int,
    ralph: Ralph,
) -> None:
    from tests.courses import placed_course

    app = make_app(**lrs_config(ralph.endpoint, ralph))
    platform.register(app)
    course: Course = placed_course(app, platform, version_id, learners=1)
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    first = emerging[0]

    assert (
        course.staff.judge(
            (learner, first, "not_yet"),
            comment="Not yet: missing the docket.",
            evidence_url="https://evidence.example/docket",
        ).status_code
        == 201
    )
    response = course.staff.judge(*[(learner, s, "met") for s in emerging], comment="Good")
    assert response.status_code == 201
    assert response.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]
    response = course.staff.judge((learner, first, "clear"))
    assert response.json["withdrawn"] == [{"learner_id": learner, "level": "emerging"}]

    runner = app.test_cli_runner()
    result = runner.invoke(args=["xapi", "deliver", "--drain", "--timeout", "20"])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(args=["xapi", "status", "--json"]).output)
    rows = outbox(app)
    assert status["queued"] == 0 and status["dead"] == 0
    assert status["delivered"] == len(rows)

    sent = statements(app)
    judged = [s for s in by_verb(sent, vocabulary.ACHIEVED) if "#statement-" in s["object"]["id"]]
    levels = [s for s in by_verb(sent, vocabulary.ACHIEVED) if "#level-" in s["object"]["id"]]
    voids = by_verb(sent, vocabulary.VOIDED)
    # 1 not yet + 10 met; 1 level; voids: the "not yet" (superseded), the cleared "met", the level
    assert (len(judged), len(levels), len(voids)) == (1 + len(emerging), 1, 3)
    assert {v["object"]["id"] for v in voids} == {judged[0]["id"], judged[1]["id"], levels[0]["id"]}

    # Every statement is in the LRS exactly once, as sent (the LRS adds stored and authority).
    stored = ralph.stored_ids()
    for row, statement in zip(rows, sent, strict=True):
        assert stored[row.statement_id] == 1
        answer = ralph.get(row.statement_id)
        assert answer.status_code == 200, answer.text
        back = answer.json()
        if "statements" in back:  # Ralph answers a statementId query with a StatementResult
            [back] = back["statements"]
        assert {k: v for k, v in back.items() if k not in ("stored", "authority")} == statement

    assert validate_statements([row.payload for row in rows]) == []
