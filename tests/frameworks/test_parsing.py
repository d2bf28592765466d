"""Framework files: what is accepted, and how each broken file is refused."""

from __future__ import annotations

import copy
import datetime as dt
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


def with_sources_value(raw: str) -> bytes:
    """A valid file whose `sources.onet` is the JSON text `raw`, as written (not re-encoded)."""
    document = replaced(GOOD, "@VALUE@", "sources", "onet")
    return json.dumps(document).replace('"@VALUE@"', raw).encode("utf-8")


DEEP = "[" * 100_000 + "]" * 100_000
STRICT_REFUSALS = {
    "lone surrogate": (r'"v30\ud800"', "$.sources.onet", "contains the lone surrogate U+D800"),
    "low surrogate": (r'"\udc00"', "$.sources.onet", "lone surrogate U+DC00"),
    "NUL": (r'"a\u0000b"', "$.sources.onet", "contains the control character U+0000"),
    "NaN": ("NaN", "$.sources.onet", "NaN is not a JSON number"),
    "Infinity": ("Infinity", "$.sources.onet", "Infinity is not a JSON number"),
    "-Infinity": ("[1, -Infinity]", "$.sources.onet[1]", "-Infinity is not a JSON number"),
    "overflowing float": ("1e999", "$.sources.onet", "the number is too large"),
    "5,000-digit integer": ("9" * 5000, "$.sources.onet", "more than 100 digits"),
    "100,000-deep nesting": (
        DEEP,
        "$.sources.onet" + "[0]" * 30,
        "nested more than 32 levels deep",
    ),
    "deep objects": (
        '{"a": ' * 50 + "1" + "}" * 50,
        "$.sources.onet" + ".a" * 30,
        "nested more than 32 levels deep",
    ),
    "surrogate in a key": (
        r'{"k\ud800": 1}',
        "$.sources.onet",
        r"a key contains the lone surrogate",
    ),
    "duplicate key inside sources": ('{"a": 1, "a": 2}', "$.sources.onet", 'the key "a" appears'),
}


@pytest.mark.parametrize("case", STRICT_REFUSALS, ids=str)
def test_values_no_store_can_hold_are_refused_anywhere_with_their_path(case: str) -> None:
    raw, path, message = STRICT_REFUSALS[case]
    with pytest.raises(FrameworkFileError) as caught:
        parse_framework(with_sources_value(raw), "broken.json")
    assert caught.value.problems == [(path, caught.value.problems[0][1])]
    assert message in caught.value.problems[0][1]
    assert str(caught.value).startswith(f"broken.json: {path}: ")
    str(caught.value).encode("utf-8")  # printable as it is: no lone surrogate in the message


def test_unknown_fields_are_checked_by_the_strict_reader_too() -> None:
    document = json.dumps({**GOOD, "extra\ud800": {"x": "\udfff"}}).encode("ascii")
    with pytest.raises(FrameworkFileError) as caught:
        parse_framework(document, "extra.json")
    assert caught.value.problems == [("$", "a key contains the lone surrogate U+D800")]
    document = json.dumps({**GOOD, "extra": [0, {"x": "\udfff"}]}).encode("ascii")
    with pytest.raises(FrameworkFileError, match=r"\$\.extra\[1\]\.x: contains the lone surr"):
        parse_framework(document, "extra.json")


def test_a_path_through_an_unprintable_key_is_shown_escaped() -> None:
    document = replaced(GOOD, {"a\x01b": [float("nan")]}, "sources")
    data = json.dumps(document).encode("ascii")  # json.dumps writes NaN
    with pytest.raises(FrameworkFileError) as caught:
        parse_framework(data, "odd.json")
    assert caught.value.problems == [('$.sources["a\\u0001b"][0]', "NaN is not a JSON number")]


def test_an_export_time_outside_the_utc_calendar_is_refused() -> None:
    for stamp in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        data = json.dumps(replaced(GOOD, stamp, "exportedAt")).encode()
        with pytest.raises(FrameworkFileError, match=r"\$\.exportedAt: is outside the years"):
            parse_framework(data, "time.json")
    data = json.dumps(replaced(GOOD, "2026-05-15T14:40:50+02:00", "exportedAt")).encode()
    assert parse_framework(data, "time.json").exported_at == dt.datetime(
        2026, 5, 15, 12, 40, 50, tzinfo=dt.UTC
    )


def test_nesting_and_numbers_within_the_bounds_are_accepted() -> None:
    fine = "[" * 27 + '{"n": 1e308, "i": ' + "9" * 100 + "}" + "]" * 27
    parsed = parse_framework(with_sources_value(fine), "fine.json")
    inner = parsed.sources["onet"]
    for _ in range(27):
        inner = inner[0]
    assert inner == {"n": 1e308, "i": int("9" * 100)}
    paired = parse_framework(with_sources_value(r'"\ud83d\ude00"'), "pair.json")
    assert paired.sources == {"onet": "😀"}  # a surrogate pair is one character, not lone
