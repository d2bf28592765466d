"""The Flask binding of the database: one engine per app, one session per app context.

Views never commit: a request that ends with a status below 400 is committed once by the request
wrapper, anything else is rolled back. CLI commands commit explicitly.
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import Dialect, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

PING_AFTER_IDLE_SECONDS = 10.0
WAL_AUTOCHECKPOINT_PAGES = 10_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs (SQLite: foreign keys, WAL, busy timeout;
    PostgreSQL: sessions in UTC, pooled connections checked after they sat idle,
    `_ping_if_idle`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        if engine.url.database and engine.url.database != ":memory:":
            private_file(Path(engine.url.database))
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Sessions in UTC, whatever the server's zone: psycopg then gives timestamps as `dt.UTC`,
    # which `UTCDateTime` takes as they are (a zone such as 'Etc/UTC' costs a conversion each:
    # a third of the time of reading a 2,000-learner grid).
    engine = create_engine(
        url, insertmanyvalues_page_size=100, connect_args={"options": "-c TimeZone=UTC"}
    )
    event.listen(engine.pool, "checkin", _idle_from_now)
    event.listen(engine.pool, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


def private_file(path: Path) -> None:
    """Make the SQLite file readable by its owner only (it holds personal data): a new file (and a
    new folder for it) is created so, an existing one of ours loses any group and other access;
    existing folders are left alone. SQLite gives its -wal and -shm files the file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        found = path.stat()
        if found.st_mode & 0o077 and found.st_uid == os.geteuid():
            path.chmod(found.st_mode & 0o700)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL keeps the database consistent through any crash; only a power or OS
    # failure can lose the last commits. PostgreSQL is the production choice where that matters.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A bulk save of 1,200 judgements writes 1,000-1,800 pages to the WAL, so at SQLite's
    # default of 1,000 every such commit also ran a checkpoint (copying the WAL into the database
    # file): 16-43 ms, against 4-6 ms for the commit alone. At 10,000 pages (~40 MB of WAL) one
    # save in five to ten runs it instead, copying once the pages the saves in between rewrote,
    # and that request takes longer. Checkpoints still run at commit, in the committing request.
    # Readers only look up a larger WAL index; a reader that stays open still keeps the WAL from
    # being reused, as before. `journal_size_limit` truncates the WAL back to 64 MiB after a
    # checkpoint, so a one-off large transaction does not leave a file that size behind.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    cursor.close()


def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Check a pooled connection that sat idle over `PING_AFTER_IDLE_SECONDS` (the server may have
    restarted, a firewall dropped it): a dead one is replaced, as the pool's pre-ping would. A
    connection in use moments ago is taken as is, saving each request a round trip; should the
    server have gone in between, the request fails and the pool reconnects for the next ones."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        raise DisconnectionError() from error


class Database:
    """Unbound extension: `db.init_app(app)`, then `db.session` inside an app context."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["database"] = sessionmaker(bind=engine, expire_on_commit=False)
        app.after_request(self._commit_on_success)
        app.teardown_appcontext(self._close)

    @property
    def engine(self) -> Engine:
        engine = current_app.extensions["database"].kw["bind"]
        assert isinstance(engine, Engine)
        return engine

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = current_app.extensions["database"]()
        session: Session = g.db_session
        return session

    @property
    def side_session(self) -> Session:
        """A second session for small writes that commit on their own (caches), closed with the
        app context like `session`."""
        if "db_side_session" not in g:
            g.db_side_session = current_app.extensions["database"]()
        session: Session = g.db_side_session
        return session

    def _commit_on_success(self, response: Response) -> Response:
        session: Session | None = g.get("db_session")
        if session is not None:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        for name in ("db_session", "db_side_session"):
            session: Session | None = g.pop(name, None)
            if session is not None:
                session.close()


db = Database()
