"""CASE 1.0 import: our own packages round-trip; others' packages import from their hierarchy;
broken packages are refused naming the package's JSON path."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from lms_plugin.commands import cli
from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.parsing import FrameworkFileError, parse_framework, read_framework_file
from tests.builders import SEED_FILES, write_json
from tests.frameworks.test_case_export import assert_valid_case_package, export


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(BASE_URL="https://tool.example")


def test_export_then_import_of_every_seed_gives_the_same_levels_and_statements(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["frameworks", "import", *map(str, SEED_FILES)]).exit_code == 0
    listed = json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output)
    for summary in listed:
        package = export(runner, summary["id"])
        seed = next(p for p in SEED_FILES if summary["soc"] in p.read_text(encoding="utf-8"))
        original = read_framework_file(seed)
        again = parse_framework(json.dumps(package).encode(), "package.json")

        assert again.levels == original.levels
        assert (again.soc, again.key, again.title) == (original.soc, original.key, original.title)
        assert again.content_sha256 == original.content_sha256

        path = write_json(tmp_path, f"{summary['id']}.json", package)
        result = runner.invoke(cli, ["frameworks", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert f"unchanged (id {summary['id']}," in result.output


def test_a_changed_package_of_ours_is_a_new_version_of_the_same_framework(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(cli, ["frameworks", "import", str(SEED_FILES[0])]).exit_code == 0
    [summary] = json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output)
    package = export(runner, summary["id"])
    package["CFItems"][1]["fullStatement"] += " (revised)"
    path = write_json(tmp_path, "changed.json", package)
    result = runner.invoke(cli, ["frameworks", "import", str(path)])
    assert result.exit_code == 0 and ": new version" in result.output
    versions = json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output)
    assert [(v["framework"], v["revision"]) for v in versions] == [
        (summary["framework"], 1),
        (summary["framework"], 2),
    ]


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _node(name: str) -> dict[str, str]:
    return {"title": name, "identifier": _id(name), "uri": f"https://case.example/{_id(name)}"}


def opensalt_package() -> dict[str, Any]:
    """A package as OpenSALT publishes one: no extensions, a deeper hierarchy (level, cluster,
    standard), sequence numbers given out of file order, the occupation as an O*NET link."""
    changed = "2025-03-01T10:00:00+00:00"
    doc = {
        "identifier": _id("doc"),
        "uri": f"https://case.example/{_id('doc')}",
        "creator": "State Board",
        "title": "Paralegal Durable Skills",
        "lastChangeDateTime": changed,
        "version": "2025",
        "subjectURI": [
            {
                "title": "Paralegals",
                "identifier": _id("soc"),
                "uri": "https://www.onetonline.org/link/summary/23-2011.00",
            }
        ],
    }

    def item(name: str, text: str, code: str | None = None) -> dict[str, Any]:
        found = {"identifier": _id(name), "uri": _node(name)["uri"], "fullStatement": text}
        found["lastChangeDateTime"] = changed
        if code:
            found["humanCodingScheme"] = code
        return found

    items = [
        item("l2", "Advanced", "ADV"),
        item("l1", "Foundation", "FND"),
        item("c1", "Communication cluster"),
        item("s1", "Writing — clear memos."),
        item("s2", "Listening — to clients."),
        item("s3", "Negotiation — with opposing counsel."),
        item("s4", "Research — case law, unsupervised."),
    ]

    def child(name: str, parent: str, sequence: int) -> dict[str, Any]:
        origin = _node(name)
        destination = _node(parent) if parent != "doc" else {**_node("doc"), "uri": doc["uri"]}
        return {
            "identifier": _id(f"{name}>{parent}"),
            "associationType": "isChildOf",
            "uri": f"https://case.example/a/{_id(name + parent)}",
            "originNodeURI": origin,
            "destinationNodeURI": destination,
            "sequenceNumber": sequence,
            "lastChangeDateTime": changed,
        }

    associations = [
        child("l2", "doc", 2),
        child("l1", "doc", 1),
        child("s3", "l1", 2),
        child("c1", "l1", 1),
        child("s2", "c1", 2),
        child("s1", "c1", 1),
        child("s4", "l2", 1),
        {**child("s4", "l1", 9), "associationType": "isRelatedTo"},
    ]
    return {"CFDocument": doc, "CFItems": items, "CFAssociations": associations}


def test_a_third_party_package_imports_levels_from_its_hierarchy(app: Flask) -> None:
    package = opensalt_package()
    assert_valid_case_package_shape(package)
    parsed = parse_framework(json.dumps(package).encode(), "opensalt.json")

    assert parsed.soc == "23-2011.00"
    assert parsed.title == "Paralegal Durable Skills"
    assert parsed.version == "2025"
    assert [(lvl.key, lvl.label) for lvl in parsed.levels] == [
        ("FND", "Foundation"),
        ("ADV", "Advanced"),
    ]
    assert parsed.levels[0].statements == (
        "Writing — clear memos.",
        "Listening — to clients.",
        "Negotiation — with opposing counsel.",
    )
    assert parsed.levels[1].statements == ("Research — case law, unsupervised.",)
    with app.app_context():
        result = services.import_framework(db.session, parsed)
        db.session.commit()
        assert result.action == "created" and result.version.statement_count == 4


def assert_valid_case_package_shape(package: dict[str, Any]) -> None:
    """The fixture itself is a valid CASE package (other hosts' URIs are allowed here)."""
    import jsonschema

    from tests.frameworks.test_case_export import SCHEMA

    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(package)


def _broken(change: Any) -> dict[str, Any]:
    package = copy.deepcopy(opensalt_package())
    change(package)
    return package


BROKEN = [
    (lambda p: p.pop("CFDocument"), "$.CFDocument", None),
    (lambda p: p.update(CFDocument=[]), "$.CFDocument", "must be an object"),
    (lambda p: p["CFDocument"].pop("identifier"), "$.CFDocument.identifier", "non-empty string"),
    (lambda p: p.update(CFItems={}), "$.CFItems", "must be a list"),
    (lambda p: p["CFItems"].append(7), "$.CFItems[7]", "must be an object"),
    (lambda p: p["CFItems"][3].pop("fullStatement"), "$.CFItems[3].fullStatement", "non-empty"),
    (lambda p: p["CFItems"].append(dict(p["CFItems"][0])), "$.CFItems[7].identifier", "twice"),
    (
        lambda p: p["CFAssociations"][0].pop("originNodeURI"),
        "$.CFAssociations[0].originNodeURI",
        None,
    ),
    (
        lambda p: p["CFAssociations"][2].update(sequenceNumber="2"),
        "$.CFAssociations[2].sequenceNumber",
        "integer",
    ),
    (lambda p: p.update(CFAssociations=[]), "$.CFAssociations", "no item is a child"),
    (lambda p: p["CFDocument"].pop("subjectURI"), "$.CFDocument.subjectURI", "names no occupation"),
    (
        lambda p: p["CFItems"][4].update(fullStatement=p["CFItems"][3]["fullStatement"]),
        "$.CFItems[4].fullStatement",
        "duplicates",
    ),
    (
        lambda p: p["CFItems"][3].update(fullStatement="Bell \u0007 — rings"),
        "$.CFItems[3].fullStatement",
        "control character",
    ),
    (lambda p: p["CFItems"][1].update(fullStatement=" "), "$.CFItems[1].fullStatement", None),
    (lambda p: p["CFAssociations"].__delitem__(6), "$.CFItems[0]", "at least one statement"),
    (lambda p: p["CFDocument"].update(version=5), "$.CFDocument.version", "must be a string"),
]


@pytest.mark.parametrize(("change", "path", "words"), BROKEN)
def test_broken_packages_are_refused_naming_the_package_path(
    change: Any, path: str, words: str | None
) -> None:
    package = _broken(change)
    with pytest.raises(FrameworkFileError) as refused:
        parse_framework(json.dumps(package).encode(), "broken.json")
    problems = dict(refused.value.problems)
    if "CFDocument" not in package:  # not a package at all: read as a LER.me file
        assert "$.occupation" in problems
        return
    assert path in problems, problems
    if words:
        assert words in problems[path], problems


def test_a_refused_package_imports_nothing_and_names_the_file(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    broken = write_json(tmp_path, "salt.json", _broken(lambda p: p.update(CFAssociations=[])))
    result = runner.invoke(cli, ["frameworks", "import", str(SEED_FILES[0]), str(broken)])
    assert result.exit_code != 0
    assert "salt.json: $.CFAssociations: no item is a child" in result.output
    assert json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output) == []


def test_our_exports_are_valid_case_packages(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(cli, ["frameworks", "import", str(SEED_FILES[1])]).exit_code == 0
    [summary] = json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output)
    assert_valid_case_package(export(runner, summary["id"]))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def test_any_value_anywhere_in_a_package_is_imported_or_refused_never_crashes() -> None:
    package = opensalt_package()
    for path in _paths(package)[1:]:
        for replacement in (None, True, -1, 2.5, "", "x", [], {}, [None], {"a": None}):
            changed = copy.deepcopy(package)
            parent = changed
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = replacement
            try:
                parse_framework(json.dumps(changed).encode(), "mutated.json")
            except FrameworkFileError as error:
                assert error.problems and all(p.startswith("$") for p, _ in error.problems)
