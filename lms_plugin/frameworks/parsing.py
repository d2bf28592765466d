"""Reading framework files: size limit, strict JSON, schema validation, content hash.

Every problem is a `FrameworkFileError` naming the file and the JSON path of the problem; nothing
else ever escapes `parse_framework` (tests/fuzz/test_framework_fuzz.py holds it to that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from lms_plugin.frameworks import case_import
from lms_plugin.frameworks.identity import framework_key
from lms_plugin.frameworks.schemas import FrameworkFileSchema, json_path
from lms_plugin.strict_json import StrictJSONError, StrictLimits, load_strict

MAX_FILE_BYTES = 5 * 1024 * 1024
# Seeds nest 5 deep; `sources` may carry a little structure of its own.
LIMITS = StrictLimits(max_chars=MAX_FILE_BYTES, max_depth=32, max_values=200_000)


class FrameworkFileError(ValueError):
    """A framework file was refused; `str()` reads "<file>: <JSON path>: <problem>"."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {path}: {message}" for path, message in problems))


@dataclass(frozen=True)
class ParsedLevel:
    key: str
    label: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFramework:
    """A validated framework file, ready to import."""

    source: str
    schema_version: str
    exported_at: dt.datetime | None
    occupation: dict[str, Any]
    version: str
    description: str
    context_covered: str
    levels: tuple[ParsedLevel, ...]
    sources: dict[str, Any]
    attribution: str
    name: str = ""
    """The framework's own title ("" when the file names only the occupation)."""
    identifier: str = ""
    """The framework's explicit identifier, when the file has one."""

    @property
    def soc(self) -> str:
        return str(self.occupation["soc"])

    @property
    def title(self) -> str:
        return self.name or str(self.occupation["title"])

    @property
    def key(self) -> str:
        """The framework's identity within its occupation (see `identity.framework_key`)."""
        return framework_key(self.title, self.identifier)

    @property
    def content_sha256(self) -> str:
        """A hash of everything imported except `exportedAt`: re-exporting unchanged content is
        not a new version. Level order is part of the content."""
        content = {
            "schemaVersion": self.schema_version,
            "occupation": self.occupation,
            "version": self.version,
            "description": self.description,
            "contextCovered": self.context_covered,
            "levels": [[lvl.key, lvl.label, list(lvl.statements)] for lvl in self.levels],
            "sources": self.sources,
            "attribution": self.attribution,
        }
        # Only when present, so that files without them keep the hashes they were stored under.
        if self.name:
            content["title"] = self.name
        if self.identifier:
            content["identifier"] = self.identifier
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_framework_file(path: Path) -> ParsedFramework:
    """Read and validate one framework file."""
    # A file name that is not UTF-8 (surrogate escapes) is shown with replacement characters.
    source = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FrameworkFileError(source, [("$", _too_big(size))])
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise FrameworkFileError(
            source, [("$", f"cannot read the file ({error.strerror})")]
        ) from None
    return parse_framework(data, source)


def parse_framework(data: bytes, source: str) -> ParsedFramework:
    """Validate the bytes of a framework file; `source` names it in error messages."""
    if len(data) > MAX_FILE_BYTES:
        raise FrameworkFileError(source, [("$", _too_big(len(data)))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FrameworkFileError(
            source, [("$", f"not UTF-8 text (byte {error.start} is invalid)")]
        ) from None
    try:
        document = load_strict(text, LIMITS)
    except StrictJSONError as error:
        raise FrameworkFileError(source, [(error.path, error.message)]) from None
    if not isinstance(document, dict):
        raise FrameworkFileError(source, [("$", "must be a JSON object")])
    if "CFDocument" in document:
        return _from_case_package(document, source)
    return _from_file_document(document, source)


def _from_case_package(package: dict[str, Any], source: str) -> ParsedFramework:
    """A CASE 1.0 CFPackage, read as the framework file it describes (problems name the
    package's JSON paths)."""
    try:
        document, paths = case_import.package_to_framework_file(package)
    except case_import.CaseShapeError as error:
        raise FrameworkFileError(source, [(error.path, error.message)]) from None
    try:
        return _from_file_document(document, source)
    except FrameworkFileError as error:
        problems = [
            (case_import.package_path(path, paths, package["CFDocument"]), message)
            for path, message in error.problems
        ]
        raise FrameworkFileError(source, sorted(dict.fromkeys(problems))) from None


def _from_file_document(document: dict[str, Any], source: str) -> ParsedFramework:
    try:
        loaded = FrameworkFileSchema().load(document)
    except ValidationError as error:
        raise FrameworkFileError(source, sorted(_flatten(error.messages, ()))) from None
    body = loaded["framework"]
    exported_at = loaded["exportedAt"]
    if exported_at is not None:
        try:
            exported_at = exported_at.astimezone(dt.UTC)
        except OverflowError:
            message = "is outside the years 1-9999 in UTC"
            raise FrameworkFileError(source, [("$.exportedAt", message)]) from None
    return ParsedFramework(
        source=Path(source).name,
        schema_version=loaded["schemaVersion"],
        exported_at=exported_at,
        occupation=loaded["occupation"],
        version=body["version"],
        description=body["description"],
        context_covered=body["contextCovered"],
        levels=tuple(
            ParsedLevel(key, level["label"], tuple(level["statements"]))
            for key, level in body["levels"]
        ),
        sources=loaded["sources"],
        attribution=loaded["attribution"],
        name=body["title"],
        identifier=body["identifier"],
    )


def _too_big(size: int) -> str:
    return f"the file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte (5 MB) limit"


def _flatten(messages: Any, parts: tuple[str | int, ...]) -> list[tuple[str, str]]:
    """Marshmallow's nested error dict -> `[(JSON path, message)]`."""
    if isinstance(messages, dict):
        found: list[tuple[str, str]] = []
        for key, value in messages.items():
            child = parts if key == "_schema" else (*parts, key)
            found.extend(_flatten(value, child))
        return found
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [(json_path(parts), "; ".join(_humane(item) for item in messages))]
    if isinstance(messages, list):
        return [pair for item in messages for pair in _flatten(item, parts)]
    return [(json_path(parts), _humane(str(messages)))]


def _humane(message: str) -> str:
    return {
        "Missing data for required field.": "is required",
        "Not a valid string.": "must be a string",
        "Not a valid integer.": "must be an integer",
        "Not a valid boolean.": "must be true or false",
        "Not a valid list.": "must be a list",
        "Invalid input type.": "has the wrong type",
        "Field may not be null.": "must not be null",
    }.get(message, message)
