"""Reading a CASE 1.0 CFPackage (ours, or as OpenSALT and CASE Network publish them) as a
framework file: the package becomes the LER.me file shape, which is then validated like any LER.me
file (`parsing`). Levels are the CFDocument's children, statements every leaf under each level,
both in sequence-number order. The occupation comes from our `extensions`, else from an O*NET link
in `subjectURI` or a subject "SOC <code>".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from lms_plugin.strict_json import json_path

ONET_PAGE = re.compile(r"^https?://(?:www\.)?onetonline\.org/link/(?:summary|details)/([0-9.-]+)$")


class CaseShapeError(ValueError):
    """A CFPackage whose structure cannot be read; `path` is the JSON path of the problem."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


MAX_HIERARCHY_DEPTH = 20


def package_to_framework_file(package: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A CFPackage as a LER.me framework file, and a map from the file's JSON paths to the
    package's (so that problems found when validating the file name the package's paths; see
    `package_path`)."""
    document = package.get("CFDocument")
    if not isinstance(document, Mapping):
        raise CaseShapeError("$.CFDocument", "must be an object")
    items = package.get("CFItems", [])
    associations = package.get("CFAssociations", [])
    for name, value in (("CFItems", items), ("CFAssociations", associations)):
        if not isinstance(value, list):
            raise CaseShapeError(f"$.{name}", "must be a list")
    root = _text(document, "identifier", "$.CFDocument")
    by_id: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for index, item in enumerate(items):
        where = f"$.CFItems[{index}]"
        if not isinstance(item, Mapping):
            raise CaseShapeError(where, "must be an object")
        key = _text(item, "identifier", where).lower()
        if key in by_id or key == root.lower():
            raise CaseShapeError(f"{where}.identifier", "is used twice in the package")
        _text(item, "fullStatement", where)
        by_id[key] = (index, item)
    children: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    parents: dict[str, str] = {}
    for index, association in enumerate(associations):
        where = f"$.CFAssociations[{index}]"
        if not isinstance(association, Mapping):
            raise CaseShapeError(where, "must be an object")
        if association.get("associationType") != "isChildOf":
            continue
        child = _node_id(association, "originNodeURI", where)
        parent = _node_id(association, "destinationNodeURI", where)
        if child not in by_id:
            continue  # a link to another document's item: not part of this framework
        if child in parents:
            raise CaseShapeError(where, "gives an item a second parent")
        sequence = association.get("sequenceNumber")
        if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)):
            raise CaseShapeError(f"{where}.sequenceNumber", "must be an integer")
        parents[child] = parent
        order = float(sequence) if sequence is not None else float("inf")
        children[parent].append((order, index, child))
    for siblings in children.values():
        siblings.sort()
    level_ids = [child for _, _, child in children.get(root.lower(), [])]
    if not level_ids:
        raise CaseShapeError("$.CFAssociations", "no item is a child (isChildOf) of the CFDocument")
    paths: dict[str, str] = {}
    levels: dict[str, Any] = {}
    for position, level_id in enumerate(level_ids):
        index, item = by_id[level_id]
        key = _level_key(item, position, levels)
        paths[json_path(("framework", "levels", key))] = f"$.CFItems[{index}]"
        paths[json_path(("framework", "levels", key, "statements"))] = f"$.CFItems[{index}]"
        paths[json_path(("framework", "levels", key, "label"))] = (
            f"$.CFItems[{index}].fullStatement"
        )
        statements: list[str] = []
        for leaf in _leaves(level_id, children, by_id):
            leaf_index, leaf_item = by_id[leaf]
            where = json_path(("framework", "levels", key, "statements", len(statements)))
            paths[where] = f"$.CFItems[{leaf_index}].fullStatement"
            statements.append(leaf_item["fullStatement"])
        levels[key] = {"label": item["fullStatement"], "statements": statements}
    return _file(document, levels), paths


def _text(value: Mapping[str, Any], name: str, where: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found.strip():
        raise CaseShapeError(f"{where}.{name}", "must be a non-empty string")
    return found


def _node_id(association: Mapping[str, Any], name: str, where: str) -> str:
    node = association.get(name)
    if not isinstance(node, Mapping):
        raise CaseShapeError(f"{where}.{name}", "must be an object")
    return _text(node, "identifier", f"{where}.{name}").lower()


def _level_key(item: Mapping[str, Any], position: int, taken: Mapping[str, Any]) -> str:
    code = item.get("humanCodingScheme")
    if isinstance(code, str) and re.fullmatch(r"[^\s,]{1,100}", code) and code not in taken:
        return code
    slug = re.sub(r"[^a-z0-9]+", "-", str(item["fullStatement"]).lower()).strip("-")[:90]
    key = slug or "level"
    return key if key not in taken else f"{key}-{position + 1}"


def _leaves(
    parent: str, children: Mapping[str, list[tuple[float, int, str]]], by_id: Mapping[str, Any]
) -> list[str]:
    """The leaf items under `parent`, depth first in sequence order."""
    found: list[str] = []
    stack: list[tuple[str, int]] = [(child, 1) for _, _, child in reversed(children[parent])]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_HIERARCHY_DEPTH:
            index = by_id[node][0]
            raise CaseShapeError(f"$.CFItems[{index}]", "is nested too deep (or in a cycle)")
        below = children.get(node)
        if not below:
            found.append(node)
            continue
        stack.extend((child, depth + 1) for _, _, child in reversed(below))
    return found


def _file(document: Mapping[str, Any], levels: dict[str, Any]) -> dict[str, Any]:
    """The LER.me file: our own extensions when present, else what CASE's fields say."""
    extensions = document.get("extensions")
    ours = extensions.get("frameworkFile") if isinstance(extensions, Mapping) else None
    if isinstance(ours, Mapping):
        framework = ours.get("framework")
        framework = dict(framework) if isinstance(framework, Mapping) else {}
        framework["version"] = document.get("version")
        framework["description"] = document.get("description", "")
        framework["levels"] = levels
        return {**{k: v for k, v in ours.items() if k != "framework"}, "framework": framework}
    soc = _occupation_code(document)
    subject = document.get("subject")
    occupation_title = subject[0] if isinstance(subject, list) and subject else subject
    return {
        "schemaVersion": "CASE 1.0",
        "occupation": {"soc": soc, "title": occupation_title or document.get("title")},
        "framework": {
            "title": document.get("title"),
            "identifier": document.get("identifier"),
            "version": document.get("version") or "1",
            "description": document.get("description", ""),
            "levels": levels,
        },
        "sources": {"CASE": document.get("uri")} if isinstance(document.get("uri"), str) else {},
        "attribution": document.get("creator", ""),
    }


def _occupation_code(document: Mapping[str, Any]) -> Any:
    """The O*NET-SOC code from the CFDocument's subject links or subjects ("SOC 43-6012.00")."""
    links = document.get("subjectURI")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and isinstance(link.get("uri"), str):
            match = ONET_PAGE.match(link["uri"])
            if match:
                return match.group(1)
    subjects = document.get("subject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if isinstance(subject, str):
            match = re.match(r"^SOC\s+([0-9]{2}-[0-9]{4}(?:\.[0-9]{2})?)\b", subject)
            if match:
                return match.group(1)
    raise CaseShapeError(
        "$.CFDocument.subjectURI",
        "names no occupation: add an O*NET link (https://www.onetonline.org/link/summary/"
        '<SOC code>) to subjectURI, or a subject "SOC <code>"',
    )


# Where the fields of the LER.me file made from a package come from in the package.
_FROM_DOCUMENT = {
    "$.framework.version": "$.CFDocument.version",
    "$.framework.description": "$.CFDocument.description",
    "$.framework.title": "$.CFDocument.title",
    "$.framework.identifier": "$.CFDocument.identifier",
    "$.occupation": "$.CFDocument.subject",
    "$.attribution": "$.CFDocument.creator",
    "$.sources": "$.CFDocument.uri",
}
_EXTENSIONS = "$.CFDocument.extensions.frameworkFile"


def package_path(path: str, paths: Mapping[str, str], document: Mapping[str, Any]) -> str:
    """The package's JSON path for a problem found at `path` of the file made from it."""
    if path in paths:
        return paths[path]
    extensions = document.get("extensions")
    from_document = path in ("$.framework.version", "$.framework.description")
    if isinstance(extensions, Mapping) and "frameworkFile" in extensions and not from_document:
        return _EXTENSIONS + path.removeprefix("$")
    for prefix, mapped in _FROM_DOCUMENT.items():
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return mapped
    return "$.CFDocument"
