"""A framework is its occupation and its own name: several per occupation, versions of each."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.parsing import parse_framework
from tests.builders import SEED_FILES, framework_document, write_json

SECRETARIES = next(path for path in SEED_FILES if "43-6012" in path.name)


def listed(runner: FlaskCliRunner) -> list[dict[str, object]]:
    result = runner.invoke(cli, ["frameworks", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def ai_use_framework(tmp_path: Path, statement: str = "Drafting — with AI, reviewed.") -> Path:
    """Another framework of SOC 43-6012 (as the LER.me page shows: an "AI use" framework)."""
    document = json.loads(SECRETARIES.read_text(encoding="utf-8"))
    document["framework"]["title"] = "AI use: Legal Secretaries"
    document["framework"]["levels"] = {"emerging": {"label": "Emerging", "statements": [statement]}}
    return write_json(tmp_path, "ai-use.json", document)


def test_three_frameworks_then_a_new_version_of_one_only(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    other = framework_document(soc="43-6012.00", title="Durable skills (Legal Secretaries)")
    durable = write_json(tmp_path, "durable.json", other)
    paths = [*map(str, SEED_FILES), str(ai_use_framework(tmp_path)), str(durable)]
    result = runner.invoke(cli, ["frameworks", "import", *paths])
    assert result.exit_code == 0, result.output
    assert result.output.count(": created") == 4

    first = listed(runner)
    same_soc = [item for item in first if item["soc"] == "43-6012.00"]
    assert len(same_soc) == 3
    assert len({item["framework"] for item in first}) == 4
    assert {item["revision"] for item in first} == {1}

    changed = ai_use_framework(tmp_path, "Drafting — with AI, every line reviewed.")
    again = runner.invoke(cli, ["frameworks", "import", str(changed), *paths[:2]])
    assert again.exit_code == 0, again.output
    assert again.output.count(": new version") == 1
    assert again.output.count(": unchanged") == 2

    second = listed(runner)
    assert len(second) == 5
    ai_versions = [item for item in second if item["title"] == "AI use: Legal Secretaries"]
    assert [item["revision"] for item in ai_versions] == [1, 2]
    assert len({item["framework"] for item in ai_versions}) == 1
    assert {item["framework"] for item in second} == {item["framework"] for item in first}


def test_an_explicit_identifier_names_the_framework_whatever_its_title(app: Flask) -> None:
    def parsed(title: str, identifier: str, statement: str) -> object:
        document = framework_document(soc="43-6012.00", title=title)
        document["framework"]["identifier"] = identifier
        document["framework"]["levels"]["basic"]["statements"] = [statement]
        return parse_framework(json.dumps(document).encode(), "f.json")

    with app.app_context():
        one = services.import_framework(db.session, parsed("Old name", "ai-use", "A — a."))
        renamed = services.import_framework(db.session, parsed("New name", "ai-use", "B — b."))
        other = services.import_framework(db.session, parsed("New name", "durable", "B — b."))
        db.session.commit()
        assert (one.action, renamed.action, other.action) == ("created", "new_version", "created")
        assert renamed.version.framework_id == one.version.framework_id
        assert renamed.version.revision == 2 and renamed.version.title == "New name"
        assert other.version.framework_id != one.version.framework_id


def test_titles_differing_only_in_case_and_spacing_are_one_framework(app: Flask) -> None:
    with app.app_context():
        first = services.import_framework(
            db.session,
            parse_framework(json.dumps(framework_document(title="Test  Occupation")).encode(), "a"),
        )
        document = framework_document(title="test occupation", version="v2")
        second = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "b")
        )
        db.session.commit()
        assert second.action == "new_version"
        assert second.version.framework_id == first.version.framework_id
