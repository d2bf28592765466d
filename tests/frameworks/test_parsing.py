"""Framework files: what is accepted, and how each broken file is refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lms_plugin.frameworks.parsing import (
    MAX_FILE_BYTES,
    FrameworkFileError,
    parse_framework,
    read_framework_file,
)
from tests.builders import SEED_FILES, framework_document, write_json


def refusal(tmp_path: Path, document: Any, name: str = "broken.json") -> FrameworkFileError:
    path = write_json(tmp_path, name, document)
    with pytest.raises(FrameworkFileError) as caught:
        read_framework_file(path)
    return caught.value


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_seed_files_parse_whole(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    parsed = read_framework_file(path)

    assert parsed.soc == raw["occupation"]["soc"]
    assert [level.key for level in parsed.levels] == list(raw["framework"]["levels"])
    for level in parsed.levels:
        assert list(level.statements) == raw["framework"]["levels"][level.key]["statements"]
    assert sum(len(level.statements) for level in parsed.levels) == 40
    assert parsed.attribution == "© EBSCOed"
    assert parsed.sources["onet"] == "v30.2 (CC BY 4.0)"


def test_any_number_of_levels_with_any_keys_and_uneven_statement_counts() -> None:
    document = framework_document(
        {
            "niveau-1": ("Débutant", ["Dossiers — classer sous supervision."]),
            "二": ("中级", [f"Statement {i} — context {i}" for i in range(7)]),
            "z": ("Zenith", ["Only one — ever."] * 1 + ["No separator at all"]),
        }
    )
    parsed = parse_framework(json.dumps(document).encode(), "uneven.json")

    assert [(lvl.key, lvl.label, len(lvl.statements)) for lvl in parsed.levels] == [
        ("niveau-1", "Débutant", 1),
        ("二", "中级", 7),
        ("z", "Zenith", 2),
    ]


def test_content_hash_ignores_export_time_but_not_content_or_level_order() -> None:
    document = framework_document()
    base = parse_framework(json.dumps(document).encode(), "a.json").content_sha256

    reexported = copy.deepcopy(document)
    reexported["exportedAt"] = "2027-01-01T00:00:00Z"
    edited = copy.deepcopy(document)
    edited["framework"]["levels"]["basic"]["statements"][0] += " Carefully."
    reordered = copy.deepcopy(document)
    levels = reordered["framework"]["levels"]
    reordered["framework"]["levels"] = {key: levels[key] for key in reversed(list(levels))}

    def sha(doc: dict[str, Any]) -> str:
        return parse_framework(json.dumps(doc).encode(), "a.json").content_sha256

    assert sha(reexported) == base
    assert sha(edited) != base
    assert sha(reordered) != base


def test_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(framework_document()).encode()
    assert parse_framework(data, "bom.json").version == "v1"


def without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return document


def replaced(document: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


GOOD = framework_document()
BROKEN_DOCUMENTS = {
    "missing version": (without(GOOD, "framework", "version"), "$.framework.version", "required"),
    "missing occupation": (without(GOOD, "occupation"), "$.occupation", "required"),
    "missing soc": (without(GOOD, "occupation", "soc"), "$.occupation.soc", "required"),
    "missing levels": (without(GOOD, "framework", "levels"), "$.framework.levels", "required"),
    "missing label": (
        without(GOOD, "framework", "levels", "basic", "label"),
        "$.framework.levels.basic.label",
        "required",
    ),
    "missing statements": (
        without(GOOD, "framework", "levels", "expert", "statements"),
        "$.framework.levels.expert.statements",
        "required",
    ),
    "empty level": (
        replaced(GOOD, [], "framework", "levels", "expert", "statements"),
        "$.framework.levels.expert.statements",
        "at least one statement",
    ),
    "no levels": (replaced(GOOD, {}, "framework", "levels"), "$.framework.levels", "at least one"),
    "blank statement": (
        replaced(GOOD, "   ", "framework", "levels", "basic", "statements", 1),
        "$.framework.levels.basic.statements[1]",
        "must not be empty",
    ),
    "duplicate statement in a level": (
        replaced(GOOD, "Files — keep them tidy.", "framework", "levels", "basic", "statements", 1),
        "$.framework.levels.basic.statements[1]",
        "duplicates the statement at $.framework.levels.basic.statements[0]",
    ),
    "duplicate statement across levels": (
        replaced(
            GOOD, ["Calls — answer them politely."], "framework", "levels", "expert", "statements"
        ),
        "$.framework.levels.expert.statements[0]",
        "duplicates the statement at $.framework.levels.basic.statements[1]",
    ),
    "statement not a string": (
        replaced(GOOD, 42, "framework", "levels", "basic", "statements", 0),
        "$.framework.levels.basic.statements[0]",
        "must be a string",
    ),
    "statements not a list": (
        replaced(GOOD, "Files — keep them tidy.", "framework", "levels", "basic", "statements"),
        "$.framework.levels.basic.statements",
        "must be a list",
    ),
    "levels not an object": (
        replaced(GOOD, ["basic"], "framework", "levels"),
        "$.framework.levels",
        "must be an object",
    ),
    "label not a string": (
        replaced(GOOD, 3, "framework", "levels", "basic", "label"),
        "$.framework.levels.basic.label",
        "must be a string",
    ),
    "job zone as text": (
        replaced(GOOD, "3", "occupation", "jobZone"),
        "$.occupation.jobZone",
        "integer",
    ),
    "version as number": (
        replaced(GOOD, 2, "framework", "version"),
        "$.framework.version",
        "string",
    ),
    "control character": (
        replaced(GOOD, "Files\x00 — keep", "framework", "levels", "basic", "statements", 0),
        "$.framework.levels.basic.statements[0]",
        "control character U+0000",
    ),
    "level key with a comma": (
        replaced(GOOD, {"a,b": {"label": "A", "statements": ["x"]}}, "framework", "levels"),
        '$.framework.levels["a,b"]',
        "without spaces or commas",
    ),
    "bad export time": (replaced(GOOD, "yesterday", "exportedAt"), "$.exportedAt", "datetime"),
    "top-level array": ([GOOD], "$", "must be a JSON object"),
}


@pytest.mark.parametrize("case", BROKEN_DOCUMENTS, ids=str)
def test_broken_documents_are_refused_naming_file_and_json_path(tmp_path: Path, case: str) -> None:
    document, path, message = BROKEN_DOCUMENTS[case]
    error = refusal(tmp_path, document)

    assert any(p == path and message in m for p, m in error.problems), error.problems
    assert f"broken.json: {path}: " in str(error)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"schemaVersion": "1.0",', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": 1, "a": 2}', "appears twice"),
    ],
)
def test_files_that_are_not_json_objects_are_refused(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(FrameworkFileError) as caught:
        read_framework_file(path)
    assert str(caught.value).startswith(f"{path}: $: ")
    assert message in str(caught.value)


def test_files_over_5_mb_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(FrameworkFileError, match=r"huge.json: \$: .*over the 5,242,880-byte"):
        read_framework_file(path)


def test_a_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FrameworkFileError, match=r"absent.json: \$: cannot read the file"):
        read_framework_file(tmp_path / "absent.json")


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    document = replaced(without(GOOD, "framework", "version"), 7, "occupation", "title")
    error = refusal(tmp_path, document)
    assert {path for path, _ in error.problems} == {"$.framework.version", "$.occupation.title"}


def test_a_lone_surrogate_escape_is_refused() -> None:
    document = replaced(GOOD, "Files\ud800 — keep", "framework", "levels", "basic", "statements", 0)
    data = json.dumps(document).encode("ascii")  # the JSON escape \ud800, valid JSON text
    with pytest.raises(FrameworkFileError) as caught:
        parse_framework(data, "surrogate.json")
    assert "lone surrogate U+D800" in str(caught.value)
