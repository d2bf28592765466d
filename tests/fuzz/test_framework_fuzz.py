"""Fuzz target: the framework parser takes any bytes and either returns a framework that every
database can store or refuses the file with `FrameworkFileError` naming a JSON path. Nothing else.

Inputs: the seed files mutated (values replaced by anything JSON can say and some things it cannot,
keys dropped or duplicated, bytes flipped), random structures, lone surrogates, NUL, NaN and
Infinity, numbers too large for a float or for `int()`, and nesting up to 200,000 deep.
Bounded by the `ci` profile in `make test`; `HYPOTHESIS_PROFILE=long` runs it for longer.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms_plugin.frameworks.parsing import (
    MAX_FILE_BYTES,
    FrameworkFileError,
    ParsedFramework,
    parse_framework,
)
from tests.builders import SEED_FILES

SEEDS = [json.loads(path.read_text(encoding="utf-8")) for path in SEED_FILES]
SEED_BYTES = [path.read_bytes() for path in SEED_FILES]


class Raw:
    """JSON text written as it is (NaN, 1e999, a 5,000-digit integer, a lone surrogate escape)."""

    def __init__(self, text: str) -> None:
        self.text = text


class Pairs(list[tuple[str, Any]]):
    """An object written from pairs, so that a key may appear twice."""


def dump(value: Any) -> str:
    """Serialize like json.dumps, but also writing `Raw` text, `Pairs` and non-finite floats."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{dump(k)}:{dump(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return dump(Pairs(value.items()))
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # \uXXXX escapes, lone surrogates included
    return json.dumps(value)  # numbers (NaN and Infinity as JavaScript writes them), bools, null


SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"])
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(exclude_categories=()), max_size=30),  # surrogates and controls too
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), SURROGATES, st.text(max_size=5)),
    st.sampled_from(
        ["", " ", "\x00", "\x7f", "a — b", "2026-05-15T12:40:50Z", "0001-01-01T00:00Z"]
    ),
)
NUMBER_TEXT = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0", "0.0"]),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.builds(lambda n, e: f"{n}e{e}", st.integers(-(10**6), 10**6), st.integers(-999, 999)),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    NUMBER_TEXT.map(Raw),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(TEXT, children, max_size=5),
        st.lists(st.tuples(TEXT, children), max_size=5).map(Pairs),
    ),
    max_leaves=25,
)


def nested(depth: int, leaf: Any, kind: str) -> Raw:
    opening, closing = ("[", "]") if kind == "array" else ('{"k":', "}")
    return Raw(opening * depth + dump(leaf) + closing * depth)


DEEP = st.builds(
    nested,
    st.integers(0, 200_000),
    st.sampled_from(["", 0, "\ud800", Raw("NaN")]),
    st.sampled_from(["array", "object"]),
)


def as_pairs(value: Any) -> Any:
    """A parsed seed with every object turned into editable `Pairs`."""
    if isinstance(value, dict):
        return Pairs((key, as_pairs(child)) for key, child in value.items())
    if isinstance(value, list):
        return [as_pairs(child) for child in value]
    return value


def containers(value: Any) -> list[Any]:
    """Every object and array inside a seed, the whole document first."""
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Pairs):
            found.append(item)
            stack.extend(child for _, child in item)
        elif isinstance(item, list):
            found.append(item)
            stack.extend(item)
    return found


@st.composite
def mutated_seeds(draw: st.DrawFn) -> bytes:
    """A seed with a few of its values replaced, deleted or given a duplicate key."""
    document = as_pairs(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        parent = draw(st.sampled_from(containers(document)))
        if not parent:
            continue
        at = draw(st.integers(0, len(parent) - 1))
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        new = draw(st.one_of(JSONISH, DEEP))
        if action == "delete":
            del parent[at]
        elif isinstance(parent, Pairs):
            key = parent[at][0]
            if action == "replace":
                parent[at] = (key, new)
            else:
                parent.append((key, new))
        else:
            parent[at] = new
    return dump(document).encode("utf-8", "surrogatepass")


@st.composite
def flipped_bytes(draw: st.DrawFn) -> bytes:
    """A seed's bytes with a few bytes overwritten, inserted or removed."""
    data = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


def check(data: bytes) -> None:
    """The property: a storable framework, or our own refusal with a printable message."""
    try:
        parsed = parse_framework(data, "fuzz.json")
    except FrameworkFileError as error:
        assert error.problems
        assert all(path.startswith("$") and message for path, message in error.problems)
        str(error).encode("utf-8")  # the CLI prints it: it must be printable
        return
    assert isinstance(parsed, ParsedFramework)
    assert parsed.levels and all(level.statements for level in parsed.levels)
    assert len(parsed.content_sha256) == 64
    storable(
        [parsed.occupation, parsed.sources, parsed.version, parsed.description, parsed.attribution]
    )
    storable([[level.key, level.label, *level.statements] for level in parsed.levels])


def storable(value: Any) -> None:
    """What PostgreSQL's text and JSONB and SQLite's JSON can all hold."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")
            assert "\x00" not in item
        elif isinstance(item, float):
            assert math.isfinite(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def test_the_seeds_themselves_parse() -> None:
    for data in SEED_BYTES:
        check(data)
        assert isinstance(parse_framework(data, "seed.json"), ParsedFramework)


@given(mutated_seeds())
def test_mutated_seeds_parse_or_are_refused(data: bytes) -> None:
    check(data)


@given(flipped_bytes())
def test_seeds_with_flipped_bytes_parse_or_are_refused(data: bytes) -> None:
    check(data)


@given(st.one_of(JSONISH, DEEP))
def test_any_json_value_parses_or_is_refused(value: Any) -> None:
    check(dump(value).encode("utf-8", "surrogatepass"))


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused(data: bytes) -> None:
    check(data)


WORST_SHAPES = {
    "deep arrays": b"[" * MAX_FILE_BYTES,
    "deep objects": b'{"a":' * (MAX_FILE_BYTES // 5),
    "a flood of numbers": b'{"sources": [' + b"0," * (MAX_FILE_BYTES // 2 - 20) + b"0]}",
    "a flood of empty arrays": b"[" + b"[]," * (MAX_FILE_BYTES // 3 - 2) + b"0]",
    # Escaped quotes without an end: a scanner that retries from every quote is quadratic here.
    "an unterminated string of escaped quotes": b'["' + b'\\"' * (MAX_FILE_BYTES // 2 - 2),
    "a huge integer": b'{"sources": {"n": ' + b"9" * (MAX_FILE_BYTES - 30) + b"}}",
}


@pytest.mark.parametrize("shape", WORST_SHAPES)
def test_the_worst_shapes_at_the_size_limit_are_refused_in_linear_time(shape: str) -> None:
    """As large as a file may be; each is parsed in well under a second when nothing else runs,
    so the bound only catches work that grows faster than the input (it would take hours). CPU
    time, not wall-clock time: a busy machine must not fail it."""
    started = time.process_time()
    check(WORST_SHAPES[shape])
    assert time.process_time() - started < 10
