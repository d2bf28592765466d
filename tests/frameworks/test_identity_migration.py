"""Migration 20261202_framework_identity on a database holding data (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, MetaData

from lms_plugin import migrate
from lms_plugin.database import make_engine
from lms_plugin.frameworks import identity
from tests.conftest import TemporaryDatabase

BEFORE = "20261202_learner_evidence"
THIS = "20261202_framework_identity"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def insert(connection: Connection, metadata: MetaData, name: str, **values: Any) -> int:
    """Insert a row, filling required columns not given with a plain value of their type."""
    table = metadata.tables[name]
    for column in table.columns:
        if column.name in values or column.primary_key or column.nullable:
            continue
        if column.server_default is not None:
            continue
        python_type = column.type.python_type
        values[column.name] = {
            str: "x",
            int: 1,
            bool: False,
            dt.datetime: NOW,
            dict: {},
            list: [],
        }[python_type]
    return connection.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()


def add_version(
    connection: Connection,
    metadata: MetaData,
    framework_id: int,
    revision: int,
    title: str,
    texts: list[str],
) -> tuple[int, list[int]]:
    version_id = insert(
        connection,
        metadata,
        "framework_versions",
        framework_id=framework_id,
        revision=revision,
        version_label=f"v{revision}",
        title=title,
        content_sha256=f"{revision:064d}",
        schema_version="1.0",
        occupation={"soc": "43-6012.00", "title": title},
        sources={},
        source_name="f.json",
        imported_at=NOW + dt.timedelta(minutes=revision),
    )
    level_id = insert(
        connection,
        metadata,
        "framework_levels",
        version_id=version_id,
        key="basic",
        label="Basic",
        position=0,
    )
    statement_ids = [
        insert(
            connection,
            metadata,
            "framework_statements",
            level_id=level_id,
            position=index,
            text=text,
        )
        for index, text in enumerate(texts)
    ]
    return version_id, statement_ids


def test_a_second_framework_stored_as_a_version_becomes_its_own_keeping_judgements(
    empty_database: TemporaryDatabase,
) -> None:
    engine = make_engine(empty_database.url)
    try:
        migrate.upgrade(engine, BEFORE)
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.begin() as connection:
            framework_id = insert(
                connection, metadata, "frameworks", soc="43-6012.00", title="Legal Secretaries"
            )
            v1, s1 = add_version(connection, metadata, framework_id, 1, "Legal Secretaries", ["A"])
            # Before issue 15 another framework of the same SOC code became "revision 2".
            v2, s2 = add_version(connection, metadata, framework_id, 2, "AI use", ["B", "C"])
            v3, s3 = add_version(
                connection, metadata, framework_id, 3, "Legal  secretaries", ["A", "D"]
            )
            platform = insert(connection, metadata, "platforms", issuer="https://lms.example")
            course = insert(connection, metadata, "courses", platform_id=platform)
            person = insert(connection, metadata, "people", issuer="https://lms.example", sub="1")
            link = insert(
                connection, metadata, "resource_links", course_id=course, framework_version_id=v2
            )
            judgements = [
                insert(
                    connection,
                    metadata,
                    "judgements",
                    resource_link_id=link,
                    learner_id=person,
                    statement_id=statement,
                    verdict="met",
                    judged_by_id=person,
                    judged_at=NOW,
                )
                for statement in (*s1, *s2, *s3)
            ]

        migrate.upgrade(engine, THIS)

        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT v.id, v.revision, v.framework_id, f.key, f.title, v.case_id "
                    "FROM framework_versions v JOIN frameworks f ON f.id = v.framework_id "
                    "ORDER BY v.id"
                )
            ).all()
            assert [(r.id, r.revision) for r in rows] == [(v1, 1), (v2, 1), (v3, 2)]
            assert rows[0].framework_id == framework_id == rows[2].framework_id
            assert rows[1].framework_id != framework_id
            assert [r.key for r in rows] == [
                "title:legal secretaries",
                "title:ai use",
                "title:legal secretaries",
            ]
            assert rows[1].title == "AI use"
            assert rows[0].case_id == identity.version_case_id(
                "43-6012.00", "title:legal secretaries", f"{1:064d}"
            )
            statements = dict(
                connection.execute(sa.text("SELECT id, case_id FROM framework_statements")).all()
            )
            assert statements[s3[1]] == identity.statement_case_id(rows[2].case_id, "D")
            assert len(set(statements.values())) == 5
            stored = connection.execute(
                sa.text("SELECT id, statement_id FROM judgements ORDER BY id")
            ).all()
            assert [tuple(r) for r in stored] == list(zip(judgements, (*s1, *s2, *s3), strict=True))

        migrate.downgrade(engine, BEFORE)

        with engine.connect() as connection:
            merged = connection.execute(
                sa.text("SELECT id, framework_id, revision FROM framework_versions ORDER BY id")
            ).all()
            assert [tuple(r) for r in merged] == [
                (v1, framework_id, 1),
                (v2, framework_id, 2),
                (v3, framework_id, 3),
            ]
            assert connection.execute(sa.text("SELECT count(*) FROM judgements")).scalar() == 5
    finally:
        engine.dispose()
