"""Short-lived LTI state (nonces, OIDC state params, launch data, platform key sets) in the
database, shared by every web worker: pylti1p3's per-process caches lose it across workers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.lti.models import LaunchState
from lms_plugin.orm import utcnow

DEFAULT_LIFETIME = 24 * 3600
# Writes go through the table, not the ORM: the hot path of every login and launch.
STATE = LaunchState.__table__


class StateStore:
    """A key-value store with expiry over the `launch_state` table. Flushes (or, with
    `commit=True`, on a session of its own, commits each write)."""

    def __init__(self, session: Session, commit: bool = False) -> None:
        self.session = session
        self.commit = commit

    def get(self, key: str) -> Any:
        # `put` writes with an upsert, past the identity map: always read the row itself.
        row = self.session.get(LaunchState, key, populate_existing=True)
        if row is None or row.expires_at <= utcnow():
            return None
        return json.loads(row.value)

    def put(self, key: str, value: Any, lifetime: int | None = None) -> None:
        """Set the key, whether or not it exists: one upsert, so two requests storing the same
        key at once (two first launches caching a platform's key set) both succeed."""
        expires = utcnow() + dt.timedelta(seconds=lifetime or DEFAULT_LIFETIME)
        text = json.dumps(value, separators=(",", ":"))
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(STATE).values(key=key, value=text, expires_at=expires)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[STATE.c.key], set_={"value": text, "expires_at": expires}
            )
        )
        if self.commit:
            self.session.commit()

    def insert(self, key: str, value: Any, lifetime: int | None = None) -> None:
        """Store a key known to be new (random names: nonces, launch ids) without reading first."""
        expires = utcnow() + dt.timedelta(seconds=lifetime or DEFAULT_LIFETIME)
        text = json.dumps(value, separators=(",", ":"))
        self.session.execute(STATE.insert().values(key=key, value=text, expires_at=expires))

    def take(self, key: str) -> Any:
        """Delete the key and return its value if it was live: single use and race-free (of two
        concurrent takers, only the one whose DELETE removed the row gets the value)."""
        row = self.session.execute(
            STATE.delete()
            .where(STATE.c.key == key, STATE.c.expires_at > utcnow())
            .returning(STATE.c.value)
        ).first()
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

    def take_value(self, key: str) -> Any:
        return self.store.take(self._prepare_key(key))
