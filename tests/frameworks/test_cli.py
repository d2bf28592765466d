"""`lms-plugin init` and `lms-plugin frameworks import|list` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.frameworks.models import FrameworkVersion, Statement
from tests.builders import SEED_FILES, framework_document, write_json


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(FrameworkVersion)) or 0,
            db.session.scalar(select(func.count()).select_from(Statement)) or 0,
        )


def test_init_imports_the_seeds_once(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(cli, ["init"])
    assert first.exit_code == 0, first.output
    assert first.output.count(": created") == 2
    second = runner.invoke(cli, ["init"])
    assert second.exit_code == 0, second.output
    assert second.output.count(": unchanged") == 2
    assert stored(app) == (2, 80)


def test_import_then_list_as_json(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(cli, ["frameworks", "import", *map(str, SEED_FILES)])
    assert result.exit_code == 0, result.output

    listed = runner.invoke(cli, ["frameworks", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    frameworks = json.loads(listed.output)
    assert sorted(f["soc"] for f in frameworks) == ["23-2099.00", "43-6012.00"]
    for item in frameworks:
        assert set(item) >= {"id", "framework", "soc", "title", "version", "revision", "levels"}
        assert isinstance(item["id"], int) and isinstance(item["framework"], int)
        assert item["version"] == "v.26.05"
        assert [lvl["key"] for lvl in item["levels"]] == [
            "emerging",
            "developing",
            "proficient",
            "advanced",
        ]
        assert all(set(lvl) == {"key", "label", "statements"} for lvl in item["levels"])
        assert sum(lvl["statements"] for lvl in item["levels"]) == 40

    human = runner.invoke(cli, ["frameworks", "list"]).output.splitlines()
    assert human[0].split()[:6] == ["ID", "FRAMEWORK", "SOC", "VERSION", "REVISION", "TITLE"]
    assert any("Legal Secretaries and Administrative Assistants" in line for line in human[2:])


def test_list_says_when_nothing_is_imported(app: Flask, runner: FlaskCliRunner) -> None:
    empty = runner.invoke(cli, ["frameworks", "list"])
    assert empty.exit_code == 0, empty.output
    assert "No frameworks imported yet" in empty.output
    assert "lms-plugin frameworks import" in empty.output
    listed = runner.invoke(cli, ["frameworks", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output) == []


def test_one_broken_file_means_nothing_is_imported(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    good = write_json(tmp_path, "good.json", framework_document())
    broken_document = framework_document()
    broken_document["framework"]["levels"]["expert"]["statements"] = []
    broken = write_json(tmp_path, "broken.json", broken_document)

    result = runner.invoke(cli, ["frameworks", "import", str(good), str(broken)])

    assert result.exit_code != 0
    assert f"{broken}: $.framework.levels.expert.statements: a level needs" in result.output
    assert "nothing was imported" in result.output
    assert stored(app) == (0, 0)


def test_not_json_is_refused_with_the_file_named(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "notes.json"
    path.write_text("these are not JSON")
    result = runner.invoke(cli, ["frameworks", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}: $: not valid JSON" in result.output
    assert stored(app) == (0, 0)


def test_commands_on_an_uninitialised_database_say_what_to_do(
    tmp_path: Path,
) -> None:
    from lms_plugin import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(cli, ["frameworks", "list"])
    assert result.exit_code == 1
    assert "run `lms-plugin init` first" in result.output


def broken_sources(folder: Path, name: str, raw: str) -> Path:
    """A framework file whose `sources.onet` is the JSON text `raw` exactly as written."""
    document = framework_document()
    document["sources"]["onet"] = "@VALUE@"
    path = folder / name
    path.write_text(json.dumps(document).replace('"@VALUE@"', raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        (r'"\ud800"', "$.sources.onet", "contains the lone surrogate U+D800"),
        ("[" * 100_000 + "]" * 100_000, "$.sources.onet[0]", "nested more than 32 levels deep"),
        ("NaN", "$.sources.onet", "NaN is not a JSON number"),
    ],
    ids=["lone surrogate", "100,000-deep nesting", "NaN"],
)
def test_files_no_database_can_store_are_refused_as_broken_files(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, raw: str, where: str, message: str
) -> None:
    good = write_json(tmp_path, "good.json", framework_document(soc="11-1111.00"))
    broken = broken_sources(tmp_path, "broken.json", raw)

    result = runner.invoke(cli, ["frameworks", "import", str(good), str(broken)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # refused, not a traceback
    assert f"error: {broken}: {where}" in result.output
    assert message in result.output
    assert "1 of 2 file(s) refused; nothing was imported." in result.output
    assert stored(app) == (0, 0)


def test_a_file_name_that_is_not_utf8_is_shown_and_stored_readably(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    name = os.fsdecode(b"caf\xe9.json")  # Latin-1 bytes: a surrogate escape in Python
    path = write_json(tmp_path, name, framework_document())
    result = runner.invoke(cli, ["frameworks", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "caf\ufffd.json: created" in result.output
    with app.app_context():
        assert db.session.scalar(select(FrameworkVersion.source_name)) == "caf\ufffd.json"


def test_the_extremes_the_reader_accepts_are_stored_by_the_database(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    extremes = (
        '{"big": 1e308, "tiny": 5e-324, "long": ' + "9" * 100 + ', "emoji": "\\ud83d\\ude00", '
        '"deep": ' + "[" * 29 + "-0.0" + "]" * 29 + "}"
    )
    path = broken_sources(tmp_path, "extremes.json", extremes)

    result = runner.invoke(cli, ["frameworks", "import", str(path)])

    assert result.exit_code == 0, result.output
    with app.app_context():
        sources = db.session.scalar(select(FrameworkVersion.sources))
    assert sources["onet"]["long"] == int("9" * 100)
    assert sources["onet"]["emoji"] == "😀"
    # JSONB keeps numbers as decimals: 1e308 comes back as the integer 10**308.
    assert float(sources["onet"]["big"]) == 1e308 and float(sources["onet"]["tiny"]) == 5e-324
