"""CASE 1.0 (1EdTech Competencies and Academic Standards Exchange): a framework version as a
CFPackage (reading one back: `case_import`).

Export: one CFDocument per framework version; a CFItem per level ("Level") and per statement
("Competency Statement"); CFAssociations `isChildOf` (level -> document, statement -> level, with
sequence numbers) and `precedes` (each level -> the next); the attribution as a CFLicense. Every
identifier is the stored UUID (`identity`), every URI absolute under the tool's base URL, every
date RFC 3339 with an offset. What CASE has no field for (the occupation's details, the context
covered, the sources, the LER.me schema version and export date) travels in the CFDocument's
`extensions` (named as in CASE 1.1), so that our own packages import back unchanged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from lms_plugin.frameworks import identity
from lms_plugin.frameworks.attribution import attribution_text
from lms_plugin.frameworks.models import FrameworkVersion, Level, Statement

PREFIX = "/ims/case/v1p0"
LEVEL_TYPE = "Level"
STATEMENT_TYPE = "Competency Statement"


def rfc3339(moment: dt.datetime) -> str:
    """UTC, whole seconds, with the offset written out (`+00:00`)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def package_uri(base_url: str, case_id: str) -> str:
    return f"{base_url}{PREFIX}/CFPackages/{case_id}"


def document_uri(base_url: str, case_id: str) -> str:
    return f"{base_url}{PREFIX}/CFDocuments/{case_id}"


def item_uri(base_url: str, case_id: str) -> str:
    return f"{base_url}{PREFIX}/CFItems/{case_id}"


def _derived(version: FrameworkVersion, *parts: str) -> str:
    return str(uuid.uuid5(identity.CASE_NAMESPACE, "\n".join((version.case_id, *parts))))


class _Package:
    """Builds one version's package (held together: every part links to the document)."""

    def __init__(self, version: FrameworkVersion, base_url: str) -> None:
        self.version = version
        self.base_url = base_url.rstrip("/")
        self.changed = rfc3339(version.imported_at)
        self.document_link = {
            "title": version.title,
            "identifier": version.case_id,
            "uri": document_uri(self.base_url, version.case_id),
        }
        license_id = _derived(version, "license")
        self.license = {
            "identifier": license_id,
            "uri": f"{self.base_url}{PREFIX}/CFLicenses/{license_id}",
            "title": _license_title(version),
            "licenseText": attribution_text(version) or "No attribution given.",
            "lastChangeDateTime": self.changed,
        }
        self.license_link = {k: self.license[k] for k in ("title", "identifier", "uri")}

    def document(self) -> dict[str, Any]:
        version = self.version
        soc = version.framework.soc
        occupation_title = str(version.occupation.get("title", ""))
        document: dict[str, Any] = {
            "identifier": version.case_id,
            "uri": self.document_link["uri"],
            "CFPackageURI": {
                "title": version.title,
                "identifier": version.case_id,
                "uri": package_uri(self.base_url, version.case_id),
            },
            "creator": version.attribution or "Unknown",
            "title": version.title,
            "lastChangeDateTime": self.changed,
            "version": version.version_label,
            "description": version.description,
            "subject": [occupation_title] if occupation_title else [],
            "subjectURI": [
                {
                    "title": f"SOC {soc} {occupation_title}".strip(),
                    "identifier": str(uuid.uuid5(identity.CASE_NAMESPACE, f"occupation\n{soc}")),
                    "uri": f"https://www.onetonline.org/link/summary/{soc}",
                }
            ],
            "language": "en",
            "adoptionStatus": "Adopted",
            "licenseURI": self.license_link,
            "notes": f"Attribution: {attribution_text(version)}"
            if attribution_text(version)
            else "",
            "extensions": _extensions(version),
        }
        if version.exported_at is not None:
            document["statusStartDate"] = rfc3339(version.exported_at)
        return document

    def _item(self, case_id: str, **fields: Any) -> dict[str, Any]:
        return {
            "identifier": case_id,
            "uri": item_uri(self.base_url, case_id),
            "CFDocumentURI": self.document_link,
            "lastChangeDateTime": self.changed,
            "language": "en",
            "licenseURI": self.license_link,
            **fields,
        }

    def level_item(self, level: Level) -> dict[str, Any]:
        return self._item(
            level.case_id,
            fullStatement=level.label,
            abbreviatedStatement=level.label,
            humanCodingScheme=level.key,
            listEnumeration=str(level.position + 1),
            CFItemType=LEVEL_TYPE,
        )

    def statement_item(self, level: Level, statement: Statement) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "fullStatement": statement.text,
            "humanCodingScheme": f"{level.key}.{statement.position + 1}",
            "listEnumeration": str(statement.position + 1),
            "CFItemType": STATEMENT_TYPE,
        }
        if statement.performance_context:
            fields["abbreviatedStatement"] = statement.competency
        return self._item(statement.case_id, **fields)

    def association(
        self,
        kind: str,
        origin: tuple[str, str],
        destination: tuple[str, str],
        sequence: int | None = None,
    ) -> dict[str, Any]:
        case_id = _derived(self.version, "association", kind, origin[0], destination[0])
        association: dict[str, Any] = {
            "identifier": case_id,
            "associationType": kind,
            "uri": f"{self.base_url}{PREFIX}/CFAssociations/{case_id}",
            "originNodeURI": self._node(*origin),
            "destinationNodeURI": self._node(*destination),
            "CFDocumentURI": self.document_link,
            "lastChangeDateTime": self.changed,
        }
        if sequence is not None:
            association["sequenceNumber"] = sequence
        return association

    def _node(self, case_id: str, title: str) -> dict[str, str]:
        if case_id == self.version.case_id:
            return dict(self.document_link)
        return {"title": title, "identifier": case_id, "uri": item_uri(self.base_url, case_id)}

    def package(self) -> dict[str, Any]:
        version = self.version
        items: list[dict[str, Any]] = []
        associations: list[dict[str, Any]] = []
        document = (version.case_id, version.title)
        previous: tuple[str, str] | None = None
        for level in version.levels:
            node = (level.case_id, level.label)
            items.append(self.level_item(level))
            associations.append(
                self.association("isChildOf", node, document, sequence=level.position + 1)
            )
            if previous is not None:
                associations.append(self.association("precedes", previous, node))
            previous = node
            for statement in level.statements:
                items.append(self.statement_item(level, statement))
                associations.append(
                    self.association(
                        "isChildOf",
                        (statement.case_id, statement.text),
                        node,
                        sequence=statement.position + 1,
                    )
                )
        return {
            "CFDocument": self.document(),
            "CFItems": items,
            "CFAssociations": associations,
            "CFDefinitions": {
                "CFItemTypes": [self._item_type(LEVEL_TYPE), self._item_type(STATEMENT_TYPE)],
                "CFLicenses": [self.license],
            },
        }

    def _item_type(self, title: str) -> dict[str, Any]:
        case_id = str(uuid.uuid5(identity.CASE_NAMESPACE, f"item type\n{title}"))
        return {
            "identifier": case_id,
            "uri": f"{self.base_url}{PREFIX}/CFItemTypes/{case_id}",
            "title": title,
            "description": title,
            "hierarchyCode": "1" if title == LEVEL_TYPE else "2",
            "lastChangeDateTime": self.changed,
        }


def _license_title(version: FrameworkVersion) -> str:
    text = attribution_text(version)
    return "CC BY 4.0 (with attribution)" if "CC BY 4.0" in text else "Attribution"


def _extensions(version: FrameworkVersion) -> dict[str, Any]:
    """What a LER.me file holds beyond CASE's fields, to import our own packages unchanged."""
    framework: dict[str, Any] = {"contextCovered": version.context_covered}
    if version.title != version.occupation.get("title"):
        framework["title"] = version.title
    if version.framework.key.startswith("id:"):
        framework["identifier"] = version.framework.key.removeprefix("id:")
    extensions: dict[str, Any] = {
        "schemaVersion": version.schema_version,
        "occupation": version.occupation,
        "framework": framework,
        "sources": version.sources,
        "attribution": version.attribution,
    }
    if version.exported_at is not None:
        extensions["exportedAt"] = version.exported_at.astimezone(dt.UTC).isoformat()
    return {"frameworkFile": extensions}


def build_package(version: FrameworkVersion, base_url: str) -> dict[str, Any]:
    """The CFPackage of one framework version (levels and statements loaded)."""
    return _Package(version, base_url).package()


def build_document(version: FrameworkVersion, base_url: str) -> dict[str, Any]:
    return _Package(version, base_url).document()


def build_item(version: FrameworkVersion, case_id: str, base_url: str) -> dict[str, Any] | None:
    """The CFItem `case_id` of a version (a level or a statement), or None."""
    package = _Package(version, base_url)
    for level in version.levels:
        if level.case_id == case_id:
            return package.level_item(level)
        for statement in level.statements:
            if statement.case_id == case_id:
                return package.statement_item(level, statement)
    return None
