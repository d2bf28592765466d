"""The outbox at scale: counts read per state, delivered statements purged in bounded batches
(archived first when asked), and on PostgreSQL the claim, counts and purge planned over their
partial indexes, never over the delivered history."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask
from sqlalchemy import select, update

from lms_plugin.database import db
from lms_plugin.orm import utcnow
from tests.plans import plan, scans_a_table, statements_of
from tests.xapi.test_delivery import LRS, ScriptedLrs, deliver, ok, queue
from xapi import outbox
from xapi.delivery import Destination, Worker
from xapi.models import OutboxStatement

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def set_rows(app: Flask, ids: list[str], **values: object) -> None:
    with app.app_context():
        db.session.execute(
            update(OutboxStatement).where(OutboxStatement.statement_id.in_(ids)).values(**values)
        )
        db.session.commit()


def states(app: Flask) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(OutboxStatement.statement_id, OutboxStatement.state))
        return {statement_id: state for statement_id, state in rows}


def test_counts_show_each_state_and_the_oldest_queued_age(app: Flask) -> None:
    ids = queue(app, 6)
    assert deliver(app, ScriptedLrs(ok), batch_size=3, max_batches=1).delivered == 3
    set_rows(app, ids[3:4], state="dead")
    set_rows(app, ids[4:], created_at=NOW - dt.timedelta(seconds=90))
    with app.app_context():
        counts = outbox.counts(db.session, now=NOW)
        assert counts == {"queued": 2, "delivered": 3, "dead": 1, "oldest_queued_age_s": 90.0}
        assert outbox.count(db.session, "queued") == 2
        set_rows(app, ids[4:], state="dead")
        assert outbox.counts(db.session, now=NOW)["oldest_queued_age_s"] is None


def test_purge_takes_a_bounded_batch_of_old_delivered_rows_and_nothing_else(app: Flask) -> None:
    ids = queue(app, 10)
    old = NOW - dt.timedelta(days=31)
    set_rows(app, ids[:5], state="delivered", delivered_at=old)
    set_rows(app, ids[5:6], state="delivered", delivered_at=NOW - dt.timedelta(days=29))
    set_rows(app, ids[6:7], state="dead", delivered_at=old, created_at=old)
    set_rows(app, ids[7:8], created_at=old)  # queued for a month: never dropped
    cutoff = NOW - dt.timedelta(days=30)
    with app.app_context():
        assert outbox.purge_delivered(db.session, cutoff, limit=3) == 3
        db.session.commit()
        assert outbox.purge_delivered(db.session, cutoff, limit=3) == 2
        db.session.commit()
        assert outbox.purge_delivered(db.session, cutoff, limit=3) == 0
    left = states(app)
    assert sorted(left) == ids[5:]
    assert left[ids[6]] == "dead" and left[ids[7]] == "queued"


def test_purge_hands_the_exact_bytes_to_the_archive_before_deleting(app: Flask) -> None:
    ids = queue(app, 3)
    set_rows(app, ids, state="delivered", delivered_at=NOW - dt.timedelta(days=40))
    with app.app_context():
        stored = list(outbox.payloads(db.session, "delivered"))
    archived: list[str] = []
    with app.app_context():
        assert outbox.purge_delivered(db.session, NOW, 10, archived.extend) == 3
        db.session.commit()
    assert sorted(archived) == sorted(stored)
    assert [json.loads(p)["id"] for p in sorted(archived)] == ids

    ids = queue(app, 2)[:2]
    set_rows(app, ids, state="delivered", delivered_at=NOW - dt.timedelta(days=40))

    def broken(_payloads: list[str]) -> None:
        raise OSError("disk full")

    with app.app_context(), pytest.raises(OSError):
        outbox.purge_delivered(db.session, NOW, 10, broken)
    with app.app_context():
        db.session.rollback()
    assert set(states(app)) == set(ids)  # nothing deleted without its copy


def test_delivery_still_works_after_a_purge(app: Flask) -> None:
    ids = queue(app, 5)
    lrs = ScriptedLrs(ok)
    assert deliver(app, lrs).delivered == 5
    with app.app_context():
        assert outbox.purge_delivered(db.session, utcnow() + dt.timedelta(seconds=1), 100) == 5
        db.session.commit()
        assert outbox.counts(db.session)["delivered"] == 0
    assert sorted(lrs.sent) == ids


def test_claim_counts_and_purge_are_planned_over_partial_indexes(app: Flask) -> None:
    """The claim walks only queued rows (before, it walked the primary key through every
    delivered row), the queued and dead counts and the purge read their own state's index: on
    PostgreSQL whatever the parameters (generic plans), on any table size. (The delivered count
    reads its tally: tests/xapi/test_outbox_counts.py.)"""
    queue(app, 3)
    worker = Worker(lambda _s: ScriptedLrs(ok), batch_size=10)  # type: ignore[arg-type, return-value]

    def claim() -> None:
        with app.app_context():
            target = Destination("lrs", LRS, OutboxStatement.id.is_not(None))
            worker.deliver(db.session, [target])

    [(sql, params)] = statements_of(app, claim, "ORDER BY xapi_outbox.id")
    claim_plan = plan(app, sql, params)
    assert "ix_xapi_outbox_queued" in claim_plan and not scans_a_table(claim_plan), claim_plan

    def count() -> None:
        with app.app_context():
            outbox.counts(db.session)

    plans = [plan(app, sql, params) for sql, params in statements_of(app, count, "xapi_outbox")]
    for index in ("ix_xapi_outbox_queued", "ix_xapi_outbox_dead"):
        assert any(index in p for p in plans), (index, plans)
    assert not any(scans_a_table(p) for p in plans), plans

    def purge() -> None:
        with app.app_context():
            outbox.purge_delivered(db.session, NOW, 100)
            db.session.rollback()

    [(sql, params)] = statements_of(app, purge, "ORDER BY xapi_outbox.delivered_at")
    purge_plan = plan(app, sql, params)
    assert "ix_xapi_outbox_delivered_at" in purge_plan and not scans_a_table(purge_plan)
