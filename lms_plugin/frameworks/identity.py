"""Who a framework is, and the stable CASE identifiers of its versions, levels and statements.

A framework is its occupation (SOC code) and its own name: an explicit identifier when the file
has one, else its title (case and spacing ignored). CASE identifiers are UUIDs (version 5) derived
from that identity and the version's content, so the same statement of the same version has the
same identifier in every database and in every export.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would change every exported identifier.
CASE_NAMESPACE = uuid.UUID("6f1f3c0e-4b8a-5d2e-9c61-2a7d0b5e8f14")


def normalized(title: str) -> str:
    """A title as compared for identity: case-folded, runs of whitespace as one space."""
    return " ".join(title.split()).casefold()


def framework_key(title: str, identifier: str | None = None) -> str:
    """A framework's own name within its occupation (`Framework.key`)."""
    if identifier:
        return f"id:{identifier.strip()}"[:520]
    return f"title:{normalized(title)}"[:520]


def version_case_id(soc: str, key: str, content_sha256: str) -> str:
    """The CFDocument identifier of one version: one per framework and content."""
    return str(uuid.uuid5(CASE_NAMESPACE, f"version\n{soc}\n{key}\n{content_sha256}"))


def level_case_id(version_case_id: str, level_key: str) -> str:
    return str(uuid.uuid5(CASE_NAMESPACE, f"level\n{version_case_id}\n{level_key}"))


def statement_case_id(version_case_id: str, text: str) -> str:
    """Statement texts are unique within a version, so the text identifies the statement."""
    return str(uuid.uuid5(CASE_NAMESPACE, f"statement\n{version_case_id}\n{text}"))
