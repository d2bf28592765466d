"""Builders for tests: framework files, and course rows made directly in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lms_plugin.config import PROJECT_ROOT
from lms_plugin.lti.models import Course, Person, Platform

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


def course_rows(session: Session, subs: list[str]) -> tuple[Course, list[Person]]:
    """A platform, one course of it and people with these LTI subs, made directly (for tests
    where only the rows matter, not a launch). Flushes."""
    platform = Platform(
        issuer="https://lms.test",
        client_id="tool",
        auth_login_url="https://lms.test/auth",
        auth_token_url="https://lms.test/token",
        jwks_url="https://lms.test/jwks",
    )
    session.add(platform)
    session.flush()
    course = Course(platform_id=platform.id, context_id="c1")
    people = [Person(issuer=platform.issuer, sub=sub) for sub in subs]
    session.add_all([course, *people])
    session.flush()
    return course, people
