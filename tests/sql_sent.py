"""Catch the SQL statements an engine sends, for tests and benches that count them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def sql_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL of each statement `engine` sends meanwhile (one a cursor execute), filled in as
    they run: read it (or its length) after the block."""
    sent: list[str] = []

    def catch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", catch)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", catch)
