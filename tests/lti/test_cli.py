"""`lms-plugin platform list` and `lms-plugin keys list`: the empty case, the table, --json
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskCliRunner

from lms_plugin.commands import cli
from tests.lti.platform import LtiPlatform


def test_platform_list_says_when_none_is_registered(runner: FlaskCliRunner) -> None:
    empty = runner.invoke(cli, ["platform", "list"])
    assert empty.exit_code == 0, empty.output
    assert "No platforms registered yet" in empty.output
    assert "lms-plugin platform add" in empty.output
    assert json.loads(runner.invoke(cli, ["platform", "list", "--json"]).output) == []


def test_platform_list_prints_a_table_and_json(
    runner: FlaskCliRunner, platform: LtiPlatform
) -> None:
    human = runner.invoke(cli, ["platform", "list"]).output.splitlines()
    headings = ("ID", "NAME", "ISSUER", "CLIENT ID", "DEPLOYMENTS", "CREDENTIALS ISSUED BY")
    assert re.split(r"\s{2,}", human[0]) == list(headings)
    assert set(human[1]) == {"-", " "}
    assert platform.issuer in human[2] and platform.deployment_id in human[2]
    [listed] = json.loads(runner.invoke(cli, ["platform", "list", "--json"]).output)
    assert set(listed) >= {
        "id",
        "name",
        "issuer",
        "client_id",
        "auth_login_url",
        "auth_token_url",
        "jwks_url",
        "deployments",
        "issuer_profile",
    }
    assert listed["deployments"] == [platform.deployment_id]


def test_keys_list_says_when_there_are_none_and_prints_a_table_and_json(
    app: Flask, runner: FlaskCliRunner
) -> None:
    empty = runner.invoke(cli, ["keys", "list"])
    assert empty.exit_code == 0, empty.output
    assert "No keys yet" in empty.output and "lms-plugin init" in empty.output
    assert json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output) == []

    assert runner.invoke(cli, ["keys", "rotate", "--purpose", "credentials"]).exit_code == 0
    [key] = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output)
    assert set(key) == {"kid", "purpose", "algorithm", "state", "created_at", "issuer_profile"}
    assert (key["purpose"], key["state"], key["issuer_profile"]) == ("credentials", "current", None)
    assert key["created_at"].endswith("Z")
    human = runner.invoke(cli, ["keys", "list"]).output.splitlines()
    assert human[0].split()[:4] == ["PURPOSE", "ALGORITHM", "STATE", "KID"]
    assert human[2].split()[:4] == ["credentials", key["algorithm"], "current", key["kid"]]
