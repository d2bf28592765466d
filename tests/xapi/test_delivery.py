"""The delivery worker against a scripted LRS: batching, isolating refused statements, backoff,
credentials refused, leases, several workers at once, and which LRS each row goes to."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from lms_plugin.database import db
from lms_plugin.lti.models import Deployment, Platform
from lms_plugin.orm import utcnow
from tests.lti.platform import LtiPlatform
from xapi import delivery
from xapi.delivery import Backoff, Destination, Worker
from xapi.lrs import LrsAnswer, LrsSettings, LrsUnreachable
from xapi.models import LrsEndpoint, OutboxStatement
from xapi.outbox import Route, enqueue
from xapi.statements import BuiltStatement

LRS = LrsSettings("http://lrs.test/xAPI/", "tool", "s3cret")


class ScriptedLrs:
    """Answers each POST with `answer(ids)`; records every batch it was sent."""

    def __init__(self, answer: Callable[[list[str]], LrsAnswer], delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()

    def post_statements(self, payloads: Sequence[str]) -> LrsAnswer:
        ids = [json.loads(p)["id"] for p in payloads]
        with self.lock:
            self.batches.append(ids)
        time.sleep(self.delay)
        return self.answer(ids)

    @property
    def sent(self) -> Counter[str]:
        return Counter(i for batch in self.batches for i in batch)


def ok(_ids: list[str]) -> LrsAnswer:
    return LrsAnswer(200, "[]")


NO_ROUTE = Route(None, None)


def queue(app: Flask, count: int, route: Route = NO_ROUTE) -> list[str]:
    built = [
        BuiltStatement(
            f"00000000-0000-5000-8000-{n:012d}",
            json.dumps({"id": f"00000000-0000-5000-8000-{n:012d}"}),
        )
        for n in range(count)
    ]
    with app.app_context():
        enqueue(db.session, built, route, utcnow())
        db.session.commit()
    return [b.id for b in built]


def deliver(app: Flask, lrs: ScriptedLrs, **options: float) -> delivery.DeliveryReport:
    worker = Worker(lambda _settings: lrs, **{"batch_size": 100, **options})  # type: ignore[arg-type, return-value]
    with app.app_context():
        target = Destination("the test LRS", LRS, OutboxStatement.id.is_not(None))
        return worker.deliver(db.session, [target])


def rows(app: Flask) -> dict[str, OutboxStatement]:
    with app.app_context():
        found = db.session.scalars(select(OutboxStatement)).all()
        db.session.expunge_all()
        return {row.statement_id: row for row in found}


def test_batches_go_in_order_and_are_delivered(app: Flask) -> None:
    ids = queue(app, 250)
    lrs = ScriptedLrs(ok)
    report = deliver(app, lrs)
    assert report.delivered == 250
    assert [len(b) for b in lrs.batches] == [100, 100, 50]
    assert [i for batch in lrs.batches for i in batch] == ids
    assert {row.state for row in rows(app).values()} == {"delivered"}
    assert deliver(app, lrs).delivered == 0


@pytest.mark.parametrize("status", [400, 409, 422])
def test_a_refused_statement_is_isolated_and_dead(app: Flask, status: int) -> None:
    ids = queue(app, 13)
    bad = ids[8]
    lrs = ScriptedLrs(lambda sent: LrsAnswer(status, "nope") if bad in sent else ok(sent))
    report = deliver(app, lrs)
    assert (report.delivered, report.dead) == (12, 1)
    by_id = rows(app)
    assert by_id[bad].state == "dead" and f"HTTP {status}" in (by_id[bad].last_error or "")
    assert all(row.state == "delivered" for i, row in by_id.items() if i != bad)
    assert len(lrs.batches) <= 1 + 2 * 4
    assert lrs.sent[bad] <= 5


def test_credentials_refused_stop_and_keep_everything_queued(app: Flask) -> None:
    queue(app, 150)
    lrs = ScriptedLrs(lambda _ids: LrsAnswer(401, "Invalid authentication credentials"))
    before = utcnow()
    report = deliver(app, lrs)
    assert len(lrs.batches) == 1, "nothing more is sent to that LRS in this pass"
    assert report.refused and "HTTP 401" in report.refused[0]
    assert "s3cret" not in repr(LRS)
    assert "s3cret" not in repr(report)
    found = rows(app).values()
    assert {row.state for row in found} == {"queued"}
    assert {row.attempts for row in found} == {0}
    claimed = [row for row in found if row.last_error]
    assert len(claimed) == 100
    assert all(row.next_attempt_at >= before + dt.timedelta(seconds=59) for row in claimed)


def test_busy_lrs_backs_off_at_least_retry_after(app: Flask) -> None:
    queue(app, 5)
    lrs = ScriptedLrs(lambda _ids: LrsAnswer(429, "slow down", retry_after=30))
    before = utcnow()
    report = deliver(app, lrs)
    assert report.retrying == 5
    for row in rows(app).values():
        assert row.state == "queued" and row.attempts == 1
        assert row.next_attempt_at >= before + dt.timedelta(seconds=30)
    assert deliver(app, lrs).retrying == 0, "not due yet"


def test_unreachable_lrs_backs_off_exponentially(app: Flask) -> None:
    queue(app, 3)

    def down(_ids: list[str]) -> LrsAnswer:
        raise LrsUnreachable("ConnectionError for http://lrs.test/xAPI/statements: refused")

    lrs = ScriptedLrs(down)
    delays = []
    for attempt in range(1, 4):
        before = utcnow()
        report = deliver(app, lrs, request_timeout=1, lease_seconds=5)
        assert report.retrying == 3
        row = next(iter(rows(app).values()))
        assert row.attempts == attempt and "refused" in (row.last_error or "")
        delays.append((row.next_attempt_at - before).total_seconds())
        with app.app_context():
            db.session.execute(update(OutboxStatement).values(next_attempt_at=utcnow()))
            db.session.commit()
    assert 0.4 <= delays[0] <= 1.1 and 0.9 <= delays[1] <= 2.1 and 1.9 <= delays[2] <= 4.1


def test_backoff_is_capped_and_jittered() -> None:
    backoff = Backoff(base=1, cap=60)
    samples = [backoff.delay(20) for _ in range(50)]
    assert all(30 <= s <= 60 for s in samples) and len(set(samples)) > 1
    assert backoff.delay(1, retry_after=600) == 60


def test_identical_duplicates_count_as_delivered(app: Flask) -> None:
    queue(app, 4)
    report = deliver(app, ScriptedLrs(lambda _ids: LrsAnswer(204, "")))
    assert report.delivered == 4


def test_a_result_is_recorded_only_under_the_workers_own_lease(app: Flask) -> None:
    queue(app, 2)
    slow = Worker(lambda _s: ScriptedLrs(ok), batch_size=10)  # type: ignore[arg-type, return-value]
    target = Destination("t", LRS, OutboxStatement.id.is_not(None))
    with app.app_context():
        lease, claimed = slow._claim(db.session, target)
        # the lease runs out and another worker delivers the rows meanwhile
        db.session.execute(update(OutboxStatement).values(next_attempt_at=utcnow()))
        db.session.commit()
    assert deliver(app, ScriptedLrs(ok)).delivered == 2
    with app.app_context():
        outcome = delivery._Outcome("retry", "late")
        slow._record(
            db.session,
            target,
            lease,
            claimed,
            {c.id: outcome for c in claimed},
            delivery.DeliveryReport(),
        )
    assert {(row.state, row.attempts) for row in rows(app).values()} == {("delivered", 0)}


def test_several_workers_never_send_a_statement_twice(app: Flask) -> None:
    ids = queue(app, 300)
    lrs = ScriptedLrs(ok, delay=0.01)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                deliver(app, lrs, batch_size=7, max_batches=3)
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert lrs.sent == Counter(ids), "each statement sent exactly once"
    assert {row.state for row in rows(app).values()} == {"delivered"}


def test_each_row_goes_to_its_deployments_then_platforms_then_the_default_lrs(
    app: Flask, platform: LtiPlatform
) -> None:
    box = app.extensions["secret_box"]
    with app.app_context():
        session = db.session
        first = session.scalars(select(Platform)).one()
        deployment = session.scalars(select(Deployment)).one()
        other_deployment = Deployment(platform_id=first.id, deployment_id="other")
        second = Platform(
            issuer="https://second.example",
            client_id="c2",
            auth_login_url="https://second.example/auth",
            auth_token_url="https://second.example/token",
            jwks_url="https://second.example/jwks",
        )
        session.add_all([other_deployment, second])
        session.flush()
        for deployment_id, endpoint in (
            (deployment.id, "http://dep.test/"),
            (None, "http://plat.test/"),
        ):
            session.add(
                LrsEndpoint(
                    platform_id=first.id,
                    deployment_id=deployment_id,
                    endpoint=endpoint,
                    username="u",
                    password_encrypted=box.encrypt(b"pw"),
                )
            )
        routes = {
            "dep": Route(first.id, deployment.id),
            "plat": Route(first.id, other_deployment.id),
            "plat-no-deployment": Route(first.id, None),
            "default-other-platform": Route(second.id, None),
            "default-no-platform": Route(None, None),
        }
        for name, route in routes.items():
            enqueue(session, [BuiltStatement(name, "{}")], route, utcnow())
        session.commit()

        def taken(targets: list[Destination]) -> dict[str, list[str]]:
            return {
                t.lrs.endpoint: sorted(
                    session.scalars(select(OutboxStatement.statement_id).where(t.where))
                )
                for t in targets
            }

        decrypt = lambda c: box.decrypt(c).decode()  # noqa: E731
        without_default = delivery.destinations(session, None, decrypt)
        assert taken(without_default) == {
            "http://dep.test/": ["dep"],
            "http://plat.test/": ["plat", "plat-no-deployment"],
        }
        assert without_default[0].lrs.password == "pw"
        assert delivery.unrouted(session, without_default) == 2
        with_default = delivery.destinations(
            session, LrsSettings("http://default.test/", "d", "p"), decrypt
        )
        assert taken(with_default)["http://default.test/"] == [
            "default-no-platform",
            "default-other-platform",
        ]
        assert delivery.unrouted(session, with_default) == 0

        problems: list[str] = []
        broken = delivery.destinations(session, None, lambda _c: b"\xff".decode(), problems)
        assert broken == [] and len(problems) == 2
        assert session.scalar(select(func.count()).select_from(OutboxStatement)) == 5
