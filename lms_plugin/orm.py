"""Declarative base, naming convention and shared column types for every model (no Flask here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    DateTime,
    Dialect,
    MetaData,
    String,
    Table,
    TypeDecorator,
    delete,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Integer ids are 32-bit in PostgreSQL (and SQLite refuses ints over 64 bits): ids from URLs and
# request bodies are checked against this before they reach a query.
MAX_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def utc_iso(moment: dt.datetime, timespec: str = "auto") -> str:
    """ISO 8601 in UTC with `Z` (`timespec` as for `datetime.isoformat`); naive datetimes are
    refused, as `UTCDateTime` refuses them."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(dt.UTC)

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], dt.datetime | None]:
        """One call a value, not two (a grid reads tens of thousands): `_aware_utc` itself when
        the driver gives datetimes (psycopg), and on SQLite its text parsed with the zone
        appended (one C call: the text is UTC, as `process_bind_param` wrote it)."""
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:
            return _aware_utc
        if dialect.name != "sqlite":
            return lambda value: _aware_utc(parse(value))

        def from_text(value: Any) -> dt.datetime | None:
            if value is None:
                return None
            try:
                moment = dt.datetime.fromisoformat(value + "+00:00")
            except ValueError:  # text written with its own offset
                return _aware_utc(parse(value))
            # a date alone ("2026-12-01+00:00") parses, naive
            return moment if moment.tzinfo is dt.UTC else _aware_utc(parse(value))

        return from_text


def _aware_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A timestamp read back: timezone-aware in UTC (`dt.UTC`), naive ones taken as UTC."""
    if value is None:
        return None
    zone = value.tzinfo
    if zone is dt.UTC:  # psycopg with the session's TimeZone 'UTC'
        return value
    if zone is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
str36 = Annotated[str, mapped_column(String(36))]
str255 = Annotated[str, mapped_column(String(255))]
url = Annotated[str, mapped_column(String(2048))]


class Base(DeclarativeBase):
    """Base class of every model; its metadata carries the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


def in_state(*states: str) -> dict[str, Any]:
    """The WHERE of a partial index over rows in these states (PostgreSQL and SQLite). A query
    uses such an index only if its own condition names the state as a literal (`is_state`): a
    bound parameter proves nothing to SQLite's planner, nor to PostgreSQL's generic plans."""
    listed = ", ".join(f"'{state}'" for state in states)
    where = text(f"state = {listed}" if len(states) == 1 else f"state IN ({listed})")
    return {"postgresql_where": where, "sqlite_where": where}


def is_state(column: ColumnElement[str], *states: str) -> ColumnElement[bool]:
    """`column = 'state'` (or IN) with the states as SQL literals (see `in_state`)."""
    literals = [literal_column(f"'{state}'") for state in states]
    return column == literals[0] if len(literals) == 1 else column.in_(literals)


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """SQLite: INSERT `rows` (values in `columns` order) into `table` with one executemany handed
    to the driver, each value bound as its column's type binds it. SQLAlchemy's executemany
    processes every parameter of every row on its own (~10 µs a row of a bulk save's outbox);
    here each distinct value of a converted column (a batch's shared timestamps) is converted
    once, so those values must be hashable (timestamps, booleans: equal ones bind alike)."""
    dialect = connection.dialect
    assert dialect.paramstyle == "qmark", "insert_rows writes SQLite's placeholders"
    converters = []
    for index, name in enumerate(columns):
        # the dialect's own type: the generic one's binds leave SQLite's text to the driver
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            converters.append((index, process, {}))
    if converters:
        rows = [_bound(row, converters) for row in rows]
    quote = dialect.identifier_preparer.quote
    into = f"{quote(table.name)} ({', '.join(quote(name) for name in columns)})"
    values = ", ".join("?" * len(columns))
    statement = f"INSERT INTO {into} VALUES ({values})"  # noqa: S608 - the table's own names
    connection.exec_driver_sql(statement, [tuple(row) for row in rows])


def copy_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL: COPY `rows` (values in `columns` order) into `table`, in binary and in the
    connection's transaction: each value goes in its column's type, so the server parses no
    text, and no row costs an INSERT's parse (~0.07 ms a statement). `insert_rows`' twin."""
    statement, types = _copy_statement(table, tuple(columns))
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


@cache
def _copy_statement(table: Table, columns: tuple[str, ...]) -> tuple[str, list[str]]:
    """The COPY of `columns` into `table`, and their PostgreSQL type names ("varchar(32)" ->
    "varchar": the driver's names of built-in types)."""
    names = [
        table.c[name].type.compile(dialect=postgresql.dialect()).lower().partition("(")[0]
        for name in columns
    ]
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    return statement, names


def _bound(
    row: Sequence[Any], converters: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]]
) -> tuple[Any, ...]:
    """`row` with each converted column's value as its type binds it (memoized per column)."""
    values = list(row)
    for index, process, seen in converters:
        value = values[index]
        if value not in seen:
            seen[value] = process(value)
        values[index] = seen[value]
    return tuple(values)


def delete_by_id(session: Session, model: Any, ids: Sequence[int]) -> int:
    """Delete the rows of `model` with these primary keys, without loading them (a purge of
    rows already selected and locked); returns how many were named."""
    if ids:
        session.execute(
            delete(model).where(model.id.in_(ids)),
            execution_options={"synchronize_session": False},
        )
    return len(ids)
