"""Query plans: catch the SQL an action runs, then EXPLAIN it. On PostgreSQL as a generic plan (one
that holds for any parameter values, as a prepared statement's does after a few runs) with
sequential scans priced out, so a test sees which index the query can use on any table size; on
SQLite with EXPLAIN QUERY PLAN (its planner uses a partial index only when the query names the
index's condition itself)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from psycopg.sql import Literal
from sqlalchemy import event

from lms_plugin.database import db


def statements_of(app: Flask, action: Callable[[], object], fragment: str) -> list[Any]:
    """The (SQL, parameters) of each statement `action` runs whose SQL contains `fragment`."""
    seen: list[Any] = []

    def listen(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if fragment in sql:
            seen.append((sql, params))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert seen, f"no statement with {fragment!r} ran"
    return seen


def scans_a_table(found: str) -> bool:
    """Whether a plan reads a whole table (PostgreSQL's `Seq Scan`, SQLite's bare `SCAN t`)."""
    return "Seq Scan" in found or bool(re.search(r"^SCAN \w+$", found, re.MULTILINE))


def plan(app: Flask, sql: str, params: Any) -> str:
    """EXPLAIN of one caught statement: on PostgreSQL a generic plan (prepared, with
    `force_generic_plan`: PostgreSQL plans an unnamed statement for its values) with sequential
    scans disabled; on SQLite its query plan, one step a line."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with app.app_context():
            try:
                rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
                return "\n".join(row[-1] for row in rows)
            finally:
                db.session.rollback()
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    prepared = re.sub(r"%\((\w+)\)s", number, sql)
    with app.app_context():
        connection = db.session.connection()
        driver = connection.connection.driver_connection
        values = [Literal(params[name]).as_string(driver) for name in names]
        try:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            connection.exec_driver_sql(f"PREPARE probe AS {prepared}")
            execute = (
                f"EXPLAIN EXECUTE probe({', '.join(values)})" if names else "EXPLAIN EXECUTE probe"
            )
            rows = connection.exec_driver_sql(execute).all()
        finally:
            db.session.rollback()
            db.session.connection().exec_driver_sql("DEALLOCATE ALL")
            db.session.rollback()
    return "\n".join(row[0] for row in rows)
