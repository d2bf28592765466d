"""Migrations build the whole schema from empty, agree with the models, and reverse cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from lms_plugin import migrate
from lms_plugin.database import make_engine
from lms_plugin.models import Base
from tests.conftest import TemporaryDatabase


def test_upgrade_from_empty_to_head_then_back_to_base(empty_database: TemporaryDatabase) -> None:
    engine = make_engine(empty_database.url)
    try:
        assert migrate.current_revision(engine) is None
        assert not migrate.is_current(engine)

        migrate.upgrade(engine)

        assert migrate.is_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}

        migrate.downgrade(engine, "base")

        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_models_and_migrations_agree(empty_database: TemporaryDatabase) -> None:
    engine = make_engine(empty_database.url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
