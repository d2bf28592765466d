"""Migration 20261203_grid_verdicts on a database holding judgements (SQLite and PostgreSQL): each
cell's row in `current_judgements` copies its highest-id judgement (not its latest time), for
every link; downgrade drops the table and keeps the judgements."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import MetaData

from lms_plugin import migrate
from lms_plugin.database import make_engine
from tests.conftest import TemporaryDatabase
from tests.frameworks.test_identity_migration import add_version, insert

BEFORE = "20261202_wallet_pickup"
THIS = "20261203_grid_verdicts"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_each_cell_gets_its_highest_id_judgement(empty_database: TemporaryDatabase) -> None:
    engine = make_engine(empty_database.url)
    try:
        migrate.upgrade(engine, BEFORE)
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.begin() as connection:
            framework = insert(connection, metadata, "frameworks", soc="43-6012.00", title="F")
            version, _ = add_version(connection, metadata, framework, 1, "F", [])
            level = connection.scalar(sa.text("SELECT id FROM framework_levels"))
            statements = [
                insert(
                    connection,
                    metadata,
                    "framework_statements",
                    level_id=level,
                    position=n,
                    text=text,
                    case_id=f"statement-{n}",
                )
                for n, text in enumerate(("A", "B"))
            ]
            platform = insert(connection, metadata, "platforms", issuer="https://lms.example")
            course = insert(connection, metadata, "courses", platform_id=platform)
            learner = insert(connection, metadata, "people", issuer="https://lms.example", sub="1")
            links = [
                insert(
                    connection,
                    metadata,
                    "resource_links",
                    course_id=course,
                    resource_link_id=name,
                    framework_version_id=version,
                )
                for name in ("a", "b")
            ]

            def judge(link: int, statement: int, verdict: str, minutes: int) -> int:
                return insert(
                    connection,
                    metadata,
                    "judgements",
                    resource_link_id=link,
                    learner_id=learner,
                    statement_id=statement,
                    verdict=verdict,
                    comment=verdict,
                    judged_by_id=learner,
                    judged_at=NOW + dt.timedelta(minutes=minutes),
                )

            a, b = statements
            judge(links[0], a, "met", 5)
            newest_a = judge(links[0], a, "not_yet", 0)  # recorded last, dated earlier
            judge(links[0], b, "met", 0)
            newest_b = judge(links[0], b, "clear", 0)  # the same time: the order recorded
            other = judge(links[1], a, "met", 0)

        migrate.upgrade(engine, THIS)

        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT resource_link_id, statement_id, judgement_id, verdict, comment "
                    "FROM current_judgements ORDER BY resource_link_id, statement_id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (links[0], a, newest_a, "not_yet", "not_yet"),
            (links[0], b, newest_b, "clear", "clear"),
            (links[1], a, other, "met", "met"),
        ]

        migrate.downgrade(engine, BEFORE)

        assert "current_judgements" not in sa.inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM judgements")).scalar() == 5
    finally:
        engine.dispose()
