"""JSON parsing helpers shared by every reader of untrusted files and bodies.

`load_strict` is the one strict reader: it refuses what Python's `json` lets through but no store
or signer can hold (NaN and Infinity, numbers too large to be numbers, lone surrogates, NUL,
duplicate keys) and bounds size, nesting and value count, naming the JSON path of the problem.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (json.loads would silently keep the last)."""


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for `json.loads` that refuses duplicate keys."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"the key {key!r} appears twice in one JSON object")
        result[key] = value
    return result


@dataclass(frozen=True)
class StrictLimits:
    """Bounds of one document: characters, nested arrays/objects, values, digits of an integer."""

    max_chars: int = 5 * 1024 * 1024
    max_depth: int = 32
    max_values: int = 200_000
    max_integer_digits: int = 100


class StrictJSONError(ValueError):
    """The text is not JSON we accept; `path` is the JSON path of the problem (`$` for the
    whole document), `message` says what is wrong in plain words."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def json_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`("framework", "levels", "a b", 3)` -> `$.framework.levels["a b"][3]`; keys that are not
    printable (controls, lone surrogates) are shown escaped, so the path itself can be printed."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part, ensure_ascii=not part.isprintable()) + "]"
    return out


def load_strict(text: str, limits: StrictLimits | None = None) -> Any:
    """Parse JSON text, or raise `StrictJSONError` naming where and what the problem is."""
    limits = limits or StrictLimits()
    if len(text) > limits.max_chars:
        raise StrictJSONError("$", f"the document is longer than {limits.max_chars:,} characters")
    # The document with every string emptied: its structure and numbers, scanned in C.
    skeleton = _STRING.sub('""', text)
    # Every comma outside a string parts two values of one array or object, so a document has
    # more values than commas: a flood of them is refused before a million objects are built.
    if skeleton.count(",") >= limits.max_values:
        raise _too_many_values(limits.max_values)
    if _depth(skeleton) > limits.max_depth:
        _refuse_nesting(text, limits.max_depth)
    hooks: dict[str, Any] = {"object_pairs_hook": _pairs, "parse_constant": _constant}
    if re.search(rf"\d{{{limits.max_integer_digits + 1}}}", skeleton):
        hooks["parse_int"] = lambda digits: _integer(digits, limits.max_integer_digits)
    try:
        document = json.loads(text, **hooks)
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        raise StrictJSONError("$", message) from None
    _check_values(document, limits.max_values)
    return document


class _Refused:
    """Stands in for a value the parser hooks refused, so that the walk can name its path."""

    def __init__(self, message: str) -> None:
        self.message = message


class _RefusedObject(dict[str, Any]):
    """An object with a duplicate key: kept as a dict (parsing goes on), reported by the walk."""

    def __init__(self, pairs: list[tuple[str, Any]], message: str) -> None:
        super().__init__(pairs)
        self.message = message


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = json.dumps(key, ensure_ascii=not key.isprintable())
            return _RefusedObject(pairs, f"the key {shown} appears twice in one object")
        result[key] = value
    return result


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _integer(digits: str, max_digits: int) -> int | _Refused:
    if len(digits.lstrip("-")) > max_digits:
        return _Refused(f"the number has more than {max_digits} digits")
    return int(digits)


# A JSON string, well-formed or not (json.loads stops at a malformed one before going deeper).
# The closing quote is optional so that an unterminated string runs to the end of the text:
# a pattern that can fail would rescan the rest of the text from every later quote (quadratic).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_TOKENS = re.compile(_STRING.pattern + r"|[\[\]{},:]", re.DOTALL)


def _depth(skeleton: str) -> int:
    """How deep arrays and objects nest (strings emptied beforehand)."""
    brackets = _NOT_BRACKET.sub("", skeleton)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _refuse_nesting(text: str, max_depth: int) -> None:
    """Find where nesting first goes deeper than `max_depth` and raise with that path."""
    stack: list[list[Any]] = []  # per open container: [kind, current key token or index]
    last_string = ""
    for match in _TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            last_string = token
        elif first in "[{":
            if len(stack) == max_depth:
                path = json_path([_key(part) for _, part in stack])
                raise StrictJSONError(path, f"nested more than {max_depth} levels deep")
            stack.append([first, 0 if first == "[" else ""])
        elif first in "]}":
            if stack:
                stack.pop()
        elif stack and first == "," and stack[-1][0] == "[":
            stack[-1][1] += 1
        elif stack and first == ":" and stack[-1][0] == "{":
            stack[-1][1] = last_string
    raise StrictJSONError("$", f"nested more than {max_depth} levels deep")


def _key(part: int | str) -> int | str:
    if isinstance(part, int):
        return part
    try:
        key = json.loads(part)
    except ValueError:
        return part[1:-1]
    return key if isinstance(key, str) else part[1:-1]


# C0 controls but tab, line feed and carriage return, and DEL: refused in text people wrote
# (framework files, judgement comments) and in documents to canonicalize.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
CONTROL_CHARACTERS = re.compile(f"[{_CONTROL}]")
CONTROL_OR_LONE_SURROGATE = re.compile(rf"[{_CONTROL}\ud800-\udfff]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _unstorable(text: str) -> str | None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    code = ord(match.group())
    kind = "control character" if code == 0 else "lone surrogate"
    return f"contains the {kind} U+{code:04X}"


def _too_many_values(max_values: int) -> StrictJSONError:
    return StrictJSONError("$", f"the document has more than {max_values:,} values")


def _check_values(document: Any, max_values: int) -> None:
    """Walk the parsed document (without recursion): refused values, unstorable text, count."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    count = 1
    while stack:
        value, parts = stack.pop()
        if isinstance(value, _Refused):
            raise StrictJSONError(json_path(parts), value.message)
        if isinstance(value, float) and math.isinf(value):
            raise StrictJSONError(json_path(parts), "the number is too large")
        if isinstance(value, str):
            problem = _unstorable(value)
            if problem:
                raise StrictJSONError(json_path(parts), problem)
        elif isinstance(value, dict | list):
            count += len(value)
            if count > max_values:
                raise _too_many_values(max_values)
            if isinstance(value, list):
                # Reversed, so that the first problem in document order is the one reported.
                stack.extend((value[i], (*parts, i)) for i in reversed(range(len(value))))
                continue
            if isinstance(value, _RefusedObject):
                raise StrictJSONError(json_path(parts), value.message)
            for key in value:
                problem = _unstorable(key)
                if problem:
                    raise StrictJSONError(json_path(parts), f"a key {problem}")
            stack.extend((value[key], (*parts, key)) for key in reversed(value))
