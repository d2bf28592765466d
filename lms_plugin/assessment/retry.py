"""Retrying a request whose transaction lost a race (deadlock, serialization failure, a unique
index that a concurrent transaction filled first, SQLite busy): the whole unit of work, view and
commit, runs again after a short random pause; a race never answers 500."""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Response, make_response
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import ServiceUnavailable

from lms_plugin.database import db
from lms_plugin.errors import handle_http_error

ATTEMPTS = 5
PAUSE_SECONDS = 0.02
"""The mean pause before the first retry; it doubles with each attempt (random, 0 to 2x)."""
BUSY = "Too many people are saving at this moment: please try again."

# PostgreSQL: serialization_failure, deadlock_detected, unique_violation, lock_not_available.
RACE_SQLSTATES = frozenset({"40001", "40P01", "23505", "55P03"})
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CONSTRAINT_UNIQUE = 5, 6, 2067

log = logging.getLogger(__name__)


def is_race(error: BaseException) -> bool:
    """Whether `error` (a SQLAlchemy error or the driver's own) says a concurrent transaction got
    there first, so that the same work may succeed when run again."""
    cause = getattr(error, "orig", None) or error
    if getattr(cause, "sqlstate", None) in RACE_SQLSTATES:
        return True
    if isinstance(cause, sqlite3.Error):
        code = getattr(cause, "sqlite_errorcode", None)
        return code == _SQLITE_CONSTRAINT_UNIQUE or (
            code is not None and (code & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
        )
    return False


def retry_races(view: Callable[..., ResponseReturnValue]) -> Callable[..., Response]:
    """Run a state-changing view and commit its work (answers below 400), again up to `ATTEMPTS`
    times while it loses races; after that 503 with Retry-After."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = make_response(view(*args, **kwargs))
                if response.status_code < 400:
                    db.session.commit()
                return response
            except Exception as error:
                if not is_race(error):
                    raise
                db.session.rollback()
                log.warning("%s lost a race (attempt %d): %s", view.__name__, attempt, error)
                if attempt < ATTEMPTS:
                    pause = 2 * PAUSE_SECONDS * 2 ** (attempt - 1)
                    time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not a secret
        response = make_response(handle_http_error(ServiceUnavailable(BUSY)))
        response.headers["Retry-After"] = "1"
        return response

    return wrapper
