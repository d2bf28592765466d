"""`insert_rows` (SQLite's hot bulk inserts handed to the driver) stores exactly what a Core insert
stores: each value as its column's type binds it, timestamps in UTC whatever their zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Connection

from lms_plugin.database import make_engine
from lms_plugin.orm import UTCDateTime, insert_rows

MOMENT = dt.datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=dt.UTC)
PARIS = MOMENT.astimezone(ZoneInfo("Europe/Paris"))
ROWS = [  # a batch shares its timestamps: the same values recur
    (1, MOMENT, True, "a"),
    (2, PARIS, False, None),
    (3, MOMENT, True, "c"),
    (4, None, False, "d"),
    (5, MOMENT + dt.timedelta(microseconds=1), True, "e"),
]
COLUMNS = ("id", "at", "flag", "note")


def _probe(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
        Column("flag", Boolean),
        Column("note", String(10)),
    )


@pytest.fixture
def connection(tmp_path: object) -> Connection:
    engine = make_engine(f"sqlite:///{tmp_path}/probe.sqlite3")
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_stores_what_a_core_insert_stores(connection: Connection) -> None:
    metadata = MetaData()
    driver, core = _probe(metadata, "driver"), _probe(metadata, "core")
    metadata.create_all(connection)
    insert_rows(connection, driver, COLUMNS, ROWS)
    connection.execute(core.insert(), [dict(zip(COLUMNS, row, strict=True)) for row in ROWS])

    def stored(table: Table) -> list[tuple[object, ...]]:
        query = f"SELECT id, at, flag, note FROM {table.name} ORDER BY id"
        return [tuple(row) for row in connection.exec_driver_sql(query)]

    raw = stored(driver)
    assert raw == stored(core)
    process = driver.c.at.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    assert [row[1] for row in raw] == [process(row[1]) for row in ROWS]
    assert raw[0][1] == raw[1][1] == "2026-03-29 01:30:05.123456"  # Paris time stored in UTC
    assert [row[2] for row in raw] == [1, 0, 1, 0, 1]


def test_reads_back_as_written(connection: Connection) -> None:
    metadata = MetaData()
    table = _probe(metadata, "probe")
    metadata.create_all(connection)
    insert_rows(connection, table, COLUMNS, ROWS)
    read = connection.execute(select(table).order_by(table.c.id)).all()
    assert [tuple(row) for row in read] == ROWS
    assert all(row.at is None or row.at.tzinfo is dt.UTC for row in read)


def test_refuses_naive_timestamps(connection: Connection) -> None:
    metadata = MetaData()
    table = _probe(metadata, "probe")
    metadata.create_all(connection)
    with pytest.raises(ValueError, match="naive"):
        insert_rows(connection, table, COLUMNS, [(1, MOMENT.replace(tzinfo=None), True, "a")])
