"""Counts that read only what they show: the delivered count is a tally kept by the worker's
delivering and purging transactions, exact through every way a row changes state; counts and
the drain loop's check never read the delivered history (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select, update

from lms_plugin import migrate, worker
from lms_plugin.database import db, make_engine
from lms_plugin.orm import utcnow
from tests.conftest import TemporaryDatabase
from tests.plans import plan, scans_a_table, statements_of
from tests.xapi.test_delivery import LRS, NO_ROUTE, ScriptedLrs, deliver, ok, queue
from xapi import outbox
from xapi.delivery import Destination, Worker
from xapi.lrs import LrsAnswer
from xapi.models import OutboxStatement, OutboxTally
from xapi.outbox import enqueue
from xapi.statements import BuiltStatement

LATER = dt.timedelta(seconds=1)


def truth(app: Flask) -> dict[str, int]:
    """Every state's rows, counted over the whole table."""
    with app.app_context():
        found = dict.fromkeys(("queued", "delivered", "dead"), 0)
        query = select(OutboxStatement.state, func.count()).group_by(OutboxStatement.state)
        found.update({state: n for state, n in db.session.execute(query)})
        return found


def shown(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = outbox.counts(db.session)
        db.session.commit()
        return {state: int(counts[state] or 0) for state in ("queued", "delivered", "dead")}


def refusing(refused: set[str]) -> Callable[[list[str]], LrsAnswer]:
    def answer(ids: list[str]) -> LrsAnswer:
        return LrsAnswer(400, "bad statement") if refused & set(ids) else LrsAnswer(200, "[]")

    return answer


def statement(n: int) -> BuiltStatement:
    statement_id = f"00000000-0000-5000-8000-{n:012d}"
    return BuiltStatement(statement_id, json.dumps({"id": statement_id}))


def queue_from(app: Flask, first: int, count: int) -> None:
    with app.app_context():
        enqueue(db.session, [statement(n) for n in range(first, first + count)], NO_ROUTE, utcnow())
        db.session.commit()


def due_now(app: Flask) -> None:
    with app.app_context():
        db.session.execute(update(OutboxStatement).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_counts_stay_exact_through_every_change_of_state(app: Flask) -> None:
    ids = queue(app, 8)
    assert shown(app) == truth(app) == {"queued": 8, "delivered": 0, "dead": 0}

    report = deliver(app, ScriptedLrs(refusing({ids[1], ids[6]})), batch_size=4)
    assert (report.delivered, report.dead) == (6, 2)
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 6, "dead": 2}

    with app.app_context():
        assert outbox.replay(db.session) == 2
        db.session.commit()
    assert shown(app) == truth(app) == {"queued": 2, "delivered": 6, "dead": 0}

    assert deliver(app, ScriptedLrs(lambda _ids: LrsAnswer(503, "busy"))).retrying == 2
    with app.app_context():
        assert outbox.resume(db.session) == 2
        db.session.commit()
    assert shown(app) == truth(app) == {"queued": 2, "delivered": 6, "dead": 0}

    assert deliver(app, ScriptedLrs(ok)).delivered == 2
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 8, "dead": 0}

    with app.app_context():
        assert outbox.purge_delivered(db.session, utcnow() + LATER, limit=5) == 5
        db.session.rollback()  # a purge that does not commit leaves the tally as it was
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 8, "dead": 0}
    with app.app_context():
        assert outbox.purge_delivered(db.session, utcnow() + LATER, limit=5) == 5
        db.session.commit()
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 3, "dead": 0}

    queue_from(app, 100, 2)  # statements queued after a purge are tallied when delivered
    assert deliver(app, ScriptedLrs(ok)).delivered == 2
    with app.app_context():
        assert outbox.purge_delivered(db.session, utcnow() + LATER, limit=100) == 5
        db.session.commit()
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 0, "dead": 0}


def test_enqueueing_never_touches_the_tally(app: Flask) -> None:
    """A judgement's transaction writes its statements and nothing shared: on PostgreSQL it
    commits while another transaction holds the tally row; on SQLite it runs no SQL on it."""
    queue(app, 1)
    deliver(app, ScriptedLrs(ok))  # the tally row exists
    if app.config["DATABASE_URL"].startswith("sqlite"):
        caught = statements_of(app, lambda: queue_from(app, 10, 3), "")
        assert not any("outbox_tallies" in sql for sql, _params in caught), caught
        return
    with app.app_context():
        engine = db.engine
    with engine.connect() as holder:
        holder.execute(select(OutboxTally).with_for_update())
        with app.app_context():
            db.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            enqueue(db.session, [statement(10), statement(11)], NO_ROUTE, utcnow())
            db.session.commit()
        holder.rollback()
    assert truth(app)["queued"] == 2


def test_a_batch_whose_lease_was_lost_is_tallied_once(app: Flask) -> None:
    """A worker that outlived its lease records nothing: the rows were claimed again and
    delivered by another worker, which tallied them."""
    ids = queue(app, 3)
    second = ScriptedLrs(ok)

    def slow_answer(_ids: list[str]) -> LrsAnswer:
        due_now(app)  # our lease ends while the LRS takes its time
        assert deliver(app, second).delivered == 3
        return LrsAnswer(200, "[]")

    first = ScriptedLrs(slow_answer)
    assert deliver(app, first).delivered == 3  # what the first worker was told
    assert sorted(second.sent) == ids
    assert shown(app) == truth(app) == {"queued": 0, "delivered": 3, "dead": 0}


def test_several_workers_delivering_and_purging_at_once_keep_the_tally_exact(app: Flask) -> None:
    queue(app, 120)
    sender = Worker(lambda _s: ScriptedLrs(ok), batch_size=5, max_batches=1)  # type: ignore[arg-type, return-value]
    target = Destination("lrs", LRS, OutboxStatement.id.is_not(None))
    errors: list[BaseException] = []

    def one_worker() -> None:
        try:
            with app.app_context():
                while sender.deliver(db.session, [target]).delivered:
                    outbox.purge_delivered(db.session, utcnow() + LATER, limit=3)
                    db.session.commit()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=one_worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    counted = truth(app)
    assert counted["queued"] == 0 and counted["delivered"] > 0
    assert shown(app) == counted


def test_counts_read_no_delivered_row(app: Flask) -> None:
    """The delivered count reads its tally by primary key, the other counts their own state's
    partial index; no statement reads the delivered index or a whole table."""
    queue(app, 3)
    deliver(app, ScriptedLrs(ok))

    def count() -> None:
        with app.app_context():
            outbox.counts(db.session)

    plans = [plan(app, sql, params) for sql, params in statements_of(app, count, "FROM")]
    assert len(plans) == 4, plans
    assert any("outbox_tallies" in p for p in plans), plans
    assert not any("ix_xapi_outbox_delivered_at" in p for p in plans), plans
    assert not any(scans_a_table(p) for p in plans), plans


def test_the_drain_loop_asks_whether_anything_is_queued_without_counting(app: Flask) -> None:
    queue(app, 2)

    def drain() -> None:
        with app.app_context():
            assert worker.drain(worker.statements(), timeout=0)[0] is False  # no LRS set

    caught = statements_of(app, drain, "xapi_outbox")
    checks = [sql for sql, _params in caught if "LIMIT" in sql and "UPDATE" not in sql]
    assert checks, caught
    assert not any("count(" in sql.lower() for sql, _params in caught), caught


def test_the_migration_tallies_the_statements_delivered_before_it(
    empty_database: TemporaryDatabase,
) -> None:
    engine = make_engine(empty_database.url)
    try:
        migrate.upgrade(engine, "20261203_grid_verdicts")
        table = sa.Table("xapi_outbox", sa.MetaData(), autoload_with=engine)
        now = utcnow()
        rows = [
            {
                "statement_id": f"00000000-0000-5000-8000-{n:012d}",
                "payload": "{}",
                "state": state,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for n, state in enumerate(["delivered"] * 3 + ["queued", "dead"])
        ]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
        migrate.upgrade(engine)
        with engine.connect() as connection:
            tally = connection.execute(
                select(OutboxTally.outbox, OutboxTally.state, OutboxTally.total)
            )
            assert tally.all() == [("xapi", "delivered", 3)]
    finally:
        engine.dispose()
