"""Builders of framework files for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lms_plugin.config import PROJECT_ROOT

SEED_FILES = sorted((PROJECT_ROOT / "seeds").glob("*.json"))


def framework_document(
    levels: dict[str, tuple[str, list[str]]] | None = None,
    *,
    soc: str = "99-0001.00",
    title: str = "Test Occupation",
    version: str = "v1",
) -> dict[str, Any]:
    """A valid framework file as a dict; `levels` maps key -> (label, statements)."""
    if levels is None:
        levels = {
            "basic": ("Basic", ["Files — keep them tidy.", "Calls — answer them politely."]),
            "expert": ("Expert", ["Budgets — plan a year ahead."]),
        }
    return {
        "schemaVersion": "1.0",
        "exportedAt": "2026-05-15T12:40:50.419Z",
        "occupation": {"soc": soc, "title": title, "group": "Tests", "jobZone": 2},
        "framework": {
            "version": version,
            "description": "",
            "contextCovered": "Test contexts.",
            "levels": {
                key: {"label": label, "statements": statements}
                for key, (label, statements) in levels.items()
            },
        },
        "sources": {"onet": "v30.2 (CC BY 4.0)"},
        "attribution": "© Test Authors",
    }


def write_json(folder: Path, name: str, document: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path
