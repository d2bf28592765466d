"""Short-lived LTI state (nonces, OIDC state params, launch data, platform key sets) in the
database, shared by every web worker: pylti1p3's per-process caches lose it across workers."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.lti.models import LaunchState
from lms_plugin.orm import utcnow

DEFAULT_LIFETIME = 24 * 3600
# Statements built once, run through the session's connection: the hot path of every login and
# launch, where building a statement or an ORM execute costs more than SQLite takes to run it.
STATE = LaunchState.__table__
_GET = select(STATE.c.value, STATE.c.expires_at).where(STATE.c.key == bindparam("key"))
_INSERT = STATE.insert()
_TAKE = (
    STATE.delete()
    .where(STATE.c.key == bindparam("key"), STATE.c.expires_at > bindparam("now"))
    .returning(STATE.c.value)
)


@cache
def _put(dialect: str) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(STATE)
    return insert.on_conflict_do_update(
        index_elements=[STATE.c.key],
        set_={"value": insert.excluded.value, "expires_at": insert.excluded.expires_at},
    )


_RENAME = (
    STATE.update()
    .where(STATE.c.key == bindparam("old_key"), STATE.c.expires_at > bindparam("now"))
    .values(key=bindparam("new_key"), value=bindparam("new_value"), expires_at=bindparam("expires"))
)


def insert_state(connection: Connection, key: str, text: str, lifetime: int | None = None) -> None:
    """Store a key known to be new (random names: nonces, launch ids) with its value's JSON
    `text`, without reading first."""
    expires = utcnow() + dt.timedelta(seconds=lifetime or DEFAULT_LIFETIME)
    connection.execute(_INSERT, {"key": key, "value": text, "expires_at": expires})


def take_as(
    connection: Connection, key: str, new_key: str, text: str, lifetime: int | None = None
) -> bool:
    """Take a live key (as `StateStore.take`: single use, race-free) and store a new one with its
    value's JSON `text` in the same row: one statement. False if the key was not live."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=lifetime or DEFAULT_LIFETIME)
    params = {"old_key": key, "now": now, "new_key": new_key, "new_value": text, "expires": expires}
    return connection.execute(_RENAME, params).rowcount == 1


class StateStore:
    """A key-value store with expiry over the `launch_state` table. Writes in the session's
    transaction (or, with `commit=True`, on a session of its own, commits each write)."""

    def __init__(self, session: Session, commit: bool = False) -> None:
        self.session = session
        self.commit = commit

    def get(self, key: str) -> Any:
        row = self.session.connection().execute(_GET, {"key": key}).first()
        if row is None or row.expires_at <= utcnow():
            return None
        return json.loads(row.value)

    def put(self, key: str, value: Any, lifetime: int | None = None) -> None:
        """Set the key, whether or not it exists: one upsert, so two requests storing the same
        key at once (two first launches caching a platform's key set) both succeed."""
        connection = self.session.connection()
        expires = utcnow() + dt.timedelta(seconds=lifetime or DEFAULT_LIFETIME)
        text = json.dumps(value, separators=(",", ":"))
        params = {"key": key, "value": text, "expires_at": expires}
        connection.execute(_put(connection.dialect.name), params)
        if self.commit:
            self.session.commit()

    def take(self, key: str) -> Any:
        """Delete the key and return its value if it was live: single use and race-free (of two
        concurrent takers, only the one whose DELETE removed the row gets the value)."""
        params = {"key": key, "now": utcnow()}
        row = self.session.connection().execute(_TAKE, params).first()
        return json.loads(row[0]) if row is not None else None

    def purge_expired(self, limit: int = 500) -> int:
        """Delete up to `limit` expired rows, found through the index on `expires_at` (called
        now and then, so the table stays small whatever its size); returns how many."""
        stale = select(LaunchState.key).where(LaunchState.expires_at <= utcnow()).limit(limit)
        keys = list(self.session.scalars(stale))
        if keys:  # by key, not `IN (subquery)`: PostgreSQL would plan that as a scan of it all
            self.session.execute(
                delete(LaunchState).where(LaunchState.key.in_(keys)),
                execution_options={"synchronize_session": False},
            )
        return len(keys)


class DatabaseLaunchDataStorage(LaunchDataStorage[Any]):
    """pylti1p3's launch data storage on `StateStore`.

    Over HTTPS the keys are scoped to a per-browser session cookie, as pylti1p3's own cache
    storage does; over plain HTTP (the local demo) browsers drop such cookies in iframes, so keys
    are global, which is safe only because nonces are single use and state is bound by cookie.
    """

    def __init__(self, store: StateStore) -> None:
        super().__init__()
        self.store = store

    def get_session_cookie_name(self) -> str | None:
        assert self._request is not None, "the request must be set first"
        return super().get_session_cookie_name() if self._request.is_secure() else None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        return self.store.get(self._prepare_key(key))

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        self.store.put(self._prepare_key(key), value, exp)

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def key_of(self, key: str) -> str:
        """Where pylti1p3's `key` is kept in the store (scoped to the browser's session, if any)."""
        return self._prepare_key(key)
