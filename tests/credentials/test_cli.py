"""`lms-plugin credentials list` and `credentials achievements`: the empty case, the table,
--json, --learner, and the achievement ids `credentials issue` takes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner

from lms_plugin.commands import cli
from tests.courses import Course
from tests.credentials.test_app import achieve


def listed(runner: FlaskCliRunner, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(cli, ["credentials", *args, "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def test_both_lists_say_when_there_is_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    for command, message in (
        ("list", "No credentials issued yet."),
        ("achievements", "No levels achieved yet."),
    ):
        empty = runner.invoke(cli, ["credentials", command])
        assert empty.exit_code == 0, empty.output
        assert message in empty.output
        assert listed(runner, command) == []
    narrowed = runner.invoke(cli, ["credentials", "list", "--learner", "Nobody"])
    assert "No credentials issued for learners matching 'Nobody'." in narrowed.output


def test_credentials_and_achievements_are_listed_with_the_ids_other_commands_take(
    app: Flask, course: Course
) -> None:
    credential = achieve(app, course, 0)
    runner = app.test_cli_runner()
    learner = course.learner_ids[0]

    [achievement] = listed(runner, "achievements")
    assert achievement["learner"] == {"id": learner, "name": "Learner 0"}
    assert achievement["level"] == {"key": "emerging", "label": "Emerging"}
    assert achievement["framework"]["id"] == course.version_id
    assert achievement["course"]["title"] == "Course course-1"
    assert achievement["credentials"] == [credential["id"]]
    assert achievement["achieved_at"].endswith("Z")

    [row] = listed(runner, "list")
    assert row["id"] == credential["id"] and row["url"] == credential["url"]
    assert (row["learner"]["id"], row["level"]["key"], row["status"]) == (
        learner,
        "emerging",
        "active",
    )
    assert row["achievement_id"] == achievement["id"]

    # The achievement id is what `credentials issue` needs; the new credential is listed first.
    issued = runner.invoke(cli, ["credentials", "issue", "--achievement", str(achievement["id"])])
    assert issued.exit_code == 0, issued.output
    assert runner.invoke(cli, ["credentials", "revoke", row["id"], "--reason", "x"]).exit_code == 0
    newest, oldest = listed(runner, "list")
    assert issued.output.strip() == newest["url"] and newest["status"] == "active"
    assert oldest["id"] == row["id"] and oldest["status"] == "revoked"
    assert len(listed(runner, "achievements")[0]["credentials"]) == 2

    human = runner.invoke(cli, ["credentials", "list"]).output.splitlines()
    headings = ["ID", "LEARNER", "LEVEL", "FRAMEWORK", "ISSUED (UTC)", "STATUS"]
    assert re.split(r"\s{2,}", human[0]) == headings
    assert newest["id"] in human[2] and human[3].rstrip().endswith("revoked")
    table = runner.invoke(cli, ["credentials", "achievements"]).output.splitlines()
    assert table[0].startswith("ID") and "CREDENTIALS" in table[0]
    assert table[2].split()[0] == str(achievement["id"]) and "Learner 0" in table[2]


def test_learner_filter_takes_an_id_or_part_of_a_name(app: Flask, course: Course) -> None:
    achieve(app, course, 0)
    achieve(app, course, 1)
    runner = app.test_cli_runner()
    second = course.learner_ids[1]
    by_id = listed(runner, "list", "--learner", str(second))
    assert [row["learner"]["id"] for row in by_id] == [second]
    by_name = listed(runner, "achievements", "--learner", "learner 1")
    assert [row["learner"]["name"] for row in by_name] == ["Learner 1"]
    assert len(listed(runner, "list", "--learner", "LEARNER")) == 2
    assert listed(runner, "list", "--learner", "%") == []
