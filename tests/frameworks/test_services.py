"""Importing frameworks into the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.models import Framework, FrameworkVersion, Level, Statement
from lms_plugin.frameworks.parsing import parse_framework, read_framework_file
from tests.builders import SEED_FILES, framework_document


def counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model))
        for model in (Framework, FrameworkVersion, Level, Statement)
    )


def test_both_seed_files_import_whole_and_in_order(app: Flask) -> None:
    with app.app_context():
        results = services.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()

        assert [r.action for r in results] == ["created", "created"]
        assert counts(db.session) == (2, 2, 8, 80)
        for path in SEED_FILES:
            raw = json.loads(path.read_text(encoding="utf-8"))
            version = db.session.scalar(
                select(FrameworkVersion).where(FrameworkVersion.source_name == path.name)
            )
            assert version is not None
            assert version.framework.soc == raw["occupation"]["soc"]
            assert version.version_label == raw["framework"]["version"]
            assert version.attribution == raw["attribution"]
            assert version.exported_at is not None and version.exported_at.tzinfo is not None
            assert [lvl.key for lvl in version.levels] == list(raw["framework"]["levels"])
            for level in version.levels:
                expected = raw["framework"]["levels"][level.key]["statements"]
                assert [s.text for s in level.statements] == expected


def test_reimporting_the_same_file_changes_nothing(app: Flask) -> None:
    with app.app_context():
        first = services.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
        before = counts(db.session)

        again = services.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()

        assert [r.action for r in again] == ["unchanged", "unchanged"]
        assert [r.version.id for r in again] == [r.version.id for r in first]
        assert counts(db.session) == before


def test_a_changed_file_becomes_a_new_version_and_the_old_one_is_kept(app: Flask) -> None:
    document = framework_document(version="v1")
    with app.app_context():
        old = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "f.json")
        )
        document["framework"]["version"] = "v2"
        document["framework"]["levels"]["expert"]["statements"].append("Audits — lead them.")
        new = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "f.json")
        )
        db.session.commit()

        assert (old.action, new.action) == ("created", "new_version")
        assert new.version.id != old.version.id
        assert (old.version.revision, new.version.revision) == (1, 2)
        assert old.version.framework_id == new.version.framework_id
        assert old.version.statement_count == 3
        assert new.version.statement_count == 4
        assert [v.id for v in services.current_versions(db.session)] == [new.version.id]
        assert [v.id for v in services.list_versions(db.session)] == [
            old.version.id,
            new.version.id,
        ]


def test_a_three_level_framework_with_uneven_counts_and_unicode(app: Flask) -> None:
    document = framework_document(
        {
            "débutant": ("Débutant", ["Dossiers — classer « sous supervision »."]),
            "中级": ("中级", [f"技能 {i} — 情境 {i}" for i in range(6)]),
            "expert": ("Expert ✓", ["Budgets — plan 12 months ahead.", "Teams — lead them."]),
        },
        soc="11-1111.00",
        title="Ünïcödé Occupation",
    )
    with app.app_context():
        result = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "u.json")
        )
        db.session.commit()
        version_id = result.version.id
    with app.app_context():
        version = services.get_version(db.session, version_id)
        assert version is not None
        assert version.title == "Ünïcödé Occupation"
        assert [(lvl.key, lvl.label, len(lvl.statements)) for lvl in version.levels] == [
            ("débutant", "Débutant", 1),
            ("中级", "中级", 6),
            ("expert", "Expert ✓", 2),
        ]
        first = version.levels[0].statements[0]
        assert first.competency == "Dossiers"
        assert first.performance_context == "classer « sous supervision »."
        summary = services.version_summary(version)
        assert summary["levels"] == [
            {"key": "débutant", "label": "Débutant", "statements": 1},
            {"key": "中级", "label": "中级", "statements": 6},
            {"key": "expert", "label": "Expert ✓", "statements": 2},
        ]
