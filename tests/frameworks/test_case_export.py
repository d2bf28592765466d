"""CASE 1.0 export: `frameworks export ID --format case` and the /ims/case/v1p0 endpoints."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from lms_plugin.commands import cli
from tests.builders import SEED_FILES

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "case-v1p0-cfpackage-schema.json").read_text()
)
BASE = "https://tool.example"


def assert_valid_case_package(package: dict[str, Any]) -> None:
    """Valid against the CASE 1.0 CFPackage schema, formats included (date-time, uri)."""
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(package)
    errors = [
        e.message
        for e in jsonschema_rs.validator_for(SCHEMA, validate_formats=True).iter_errors(package)
    ]
    assert errors == []
    for node in [package["CFDocument"], *package["CFItems"], *package["CFAssociations"]]:
        assert node["uri"].startswith(f"{BASE}/ims/case/v1p0/")
        assert uuid.UUID(node["identifier"]).version == 5
        changed = dt.datetime.fromisoformat(node["lastChangeDateTime"])
        assert changed.utcoffset() == dt.timedelta(0) and node["lastChangeDateTime"].endswith(
            "+00:00"
        )


@pytest.fixture
def seeded(make_app: Any, runner: FlaskCliRunner) -> list[dict[str, Any]]:
    result = runner.invoke(cli, ["frameworks", "import", *map(str, SEED_FILES)])
    assert result.exit_code == 0, result.output
    return json.loads(runner.invoke(cli, ["frameworks", "list", "--json"]).output)


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(BASE_URL=BASE)


def export(runner: FlaskCliRunner, version_id: int) -> dict[str, Any]:
    result = runner.invoke(cli, ["frameworks", "export", str(version_id), "--format", "case"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_seed_exports_as_a_valid_package_with_all_its_statements(
    runner: FlaskCliRunner, seeded: list[dict[str, Any]]
) -> None:
    for summary in seeded:
        package = export(runner, summary["id"])
        assert_valid_case_package(package)
        seed = next(p for p in SEED_FILES if summary["soc"] in p.read_text(encoding="utf-8"))
        raw = json.loads(seed.read_text(encoding="utf-8"))
        document = package["CFDocument"]
        assert document["title"] == raw["occupation"]["title"]
        assert document["version"] == raw["framework"]["version"]
        assert document["creator"] == "© EBSCOed"
        assert "CC BY 4.0" in package["CFDefinitions"]["CFLicenses"][0]["licenseText"]
        assert (
            document["licenseURI"]["identifier"]
            == package["CFDefinitions"]["CFLicenses"][0]["identifier"]
        )
        assert document["subjectURI"][0]["uri"].endswith(raw["occupation"]["soc"])
        items = {item["identifier"]: item for item in package["CFItems"]}
        levels = [i for i in package["CFItems"] if i["CFItemType"] == "Level"]
        statements = [i for i in package["CFItems"] if i["CFItemType"] == "Competency Statement"]
        assert [lvl["humanCodingScheme"] for lvl in levels] == list(raw["framework"]["levels"])
        expected = [t for lvl in raw["framework"]["levels"].values() for t in lvl["statements"]]
        assert [s["fullStatement"] for s in statements] == expected
        kinds: dict[str, list[tuple[str, str]]] = {}
        for association in package["CFAssociations"]:
            pair = (
                association["originNodeURI"]["identifier"],
                association["destinationNodeURI"]["identifier"],
            )
            kinds.setdefault(association["associationType"], []).append(pair)
        assert len(kinds["isChildOf"]) == len(levels) + len(statements)
        assert {d for o, d in kinds["isChildOf"] if o in {lvl["identifier"] for lvl in levels}} == {
            document["identifier"]
        }
        assert kinds["precedes"] == [
            (a["identifier"], b["identifier"]) for a, b in zip(levels, levels[1:], strict=False)
        ]
        for origin, destination in kinds["isChildOf"]:
            if items[origin]["CFItemType"] == "Competency Statement":
                assert items[destination]["CFItemType"] == "Level"
        assert len({i["identifier"] for i in package["CFItems"]}) == len(package["CFItems"])


def test_identifiers_are_stable_and_the_endpoints_serve_the_same_package(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, seeded: list[dict[str, Any]]
) -> None:
    version_id = seeded[0]["id"]
    package = export(runner, version_id)
    assert export(runner, version_id) == package
    document_id = package["CFDocument"]["identifier"]

    by_uuid = client.get(f"/ims/case/v1p0/CFPackages/{document_id}")
    by_id = client.get(f"/ims/case/v1p0/CFPackages/{version_id}")
    assert by_uuid.status_code == by_id.status_code == 200
    assert by_uuid.json == by_id.json == package
    assert by_uuid.headers["Content-Type"].startswith("application/json")

    documents = client.get("/ims/case/v1p0/CFDocuments").json
    assert documents is not None
    assert document_id in {d["identifier"] for d in documents["CFDocuments"]}
    assert len(documents["CFDocuments"]) == len(seeded)
    assert (
        client.get(f"/ims/case/v1p0/CFDocuments/{document_id.upper()}").json
        == package["CFDocument"]
    )

    statement = package["CFItems"][1]
    served = client.get(f"/ims/case/v1p0/CFItems/{statement['identifier']}")
    assert served.status_code == 200 and served.json == statement
    assert statement["uri"] == f"{BASE}/ims/case/v1p0/CFItems/{statement['identifier']}"

    page = client.get(f"/frameworks/{version_id}").get_data(as_text=True)
    assert f'href="/ims/case/v1p0/CFPackages/{document_id}"' in page


@pytest.mark.parametrize(
    "path",
    [
        "/ims/case/v1p0/CFPackages/00000000-0000-5000-8000-000000000000",
        "/ims/case/v1p0/CFPackages/99999999999999999999",
        "/ims/case/v1p0/CFPackages/%00",
        "/ims/case/v1p0/CFPackages/<script>",
        "/ims/case/v1p0/CFDocuments/0",
        "/ims/case/v1p0/CFItems/1",
        "/ims/case/v1p0/CFItems/00000000-0000-5000-8000-000000000000",
    ],
)
def test_unknown_or_malformed_identifiers_are_404s(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json is not None and response.json["imsx_codeMajor"] == "failure"


def test_export_of_an_unknown_id_is_a_clear_error(
    runner: FlaskCliRunner, seeded: list[Any]
) -> None:
    result = runner.invoke(cli, ["frameworks", "export", "4242", "--format", "case"])
    assert result.exit_code != 0
    assert "no framework version with id 4242" in result.output
    bad = runner.invoke(cli, ["frameworks", "export", "1", "--format", "xml"])
    assert bad.exit_code == 2


def test_the_schema_check_refuses_what_case_refuses() -> None:
    broken = {
        "CFDocument": {
            "identifier": "not-a-uuid",
            "uri": "relative/path",
            "creator": "x",
            "title": "x",
            "lastChangeDateTime": "yesterday",
        }
    }
    validator = jsonschema_rs.validator_for(SCHEMA, validate_formats=True)
    found = {tuple(error.instance_path) for error in validator.iter_errors(broken)}
    assert found >= {
        ("CFDocument", "identifier"),
        ("CFDocument", "uri"),
        ("CFDocument", "lastChangeDateTime"),
    }
