"""The launch-state store shared by web workers: concurrent writes of one key never fail; expired
rows are purged in bounded batches found by index."""

from __future__ import annotations

import datetime as dt
import threading

from flask import Flask
from sqlalchemy import select, update

from lms_plugin.database import db
from lms_plugin.lti.models import LaunchState
from lms_plugin.lti.state_store import StateStore
from lms_plugin.orm import utcnow
from tests.plans import plan, scans_a_table, statements_of


def test_put_overwrites_and_get_reads_the_latest(app: Flask) -> None:
    with app.app_context():
        store = StateStore(db.session)
        store.put("jwks:platform", {"keys": [1]})
        assert store.get("jwks:platform") == {"keys": [1]}
        store.put("jwks:platform", {"keys": [2]}, lifetime=60)
        assert store.get("jwks:platform") == {"keys": [2]}
        db.session.commit()
        assert StateStore(db.session).get("jwks:platform") == {"keys": [2]}


def test_two_requests_storing_one_new_key_at_once_both_succeed(app: Flask) -> None:
    """Two first launches of a platform whose key set is not cached yet both store it: before
    the upsert the loser's INSERT failed on the primary key (a 500)."""
    for round_ in range(8):
        key = f"key-{round_}"
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_store, args=(app, key, value, barrier, errors))
            for value in (1, 2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        with app.app_context():
            assert StateStore(db.session).get(key) in (1, 2)


def _store(
    app: Flask, key: str, value: int, barrier: threading.Barrier, errors: list[BaseException]
) -> None:
    try:
        with app.app_context():
            state = StateStore(db.session)
            state.get(key)  # both find nothing, as both launches do
            barrier.wait(timeout=10)
            state.put(key, value)
            db.session.commit()
    except BaseException as error:  # reported by the main thread
        errors.append(error)


def test_purge_deletes_a_bounded_batch_of_expired_rows_only(app: Flask) -> None:
    with app.app_context():
        store = StateStore(db.session)
        for n in range(5):
            store.put(f"old-{n}", n, lifetime=60)
        store.put("live", 1, lifetime=3600)
        db.session.execute(
            update(LaunchState)
            .where(LaunchState.key.startswith("old-"))
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        db.session.commit()
        assert store.purge_expired(limit=3) == 3
        assert store.purge_expired(limit=3) == 2
        assert store.purge_expired(limit=3) == 0
        db.session.commit()
        assert list(db.session.scalars(select(LaunchState.key))) == ["live"]


def test_purge_finds_expired_rows_by_index(app: Flask) -> None:
    """At 1M launch states a purge that scans the table costs 190 ms (issue 17)."""

    def purge() -> None:
        with app.app_context():
            StateStore(db.session).purge_expired()

    [(sql, params)] = statements_of(app, purge, "launch_state.expires_at <=")
    found = plan(app, sql, params)
    assert "ix_launch_state_expires_at" in found and not scans_a_table(found), found
