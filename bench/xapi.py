"""xAPI: statements delivered per second to a local LRS (Ralph, filesystem backend, on loopback)
with batching, and the extra time a judgement costs for its outbox rows.

Delivery: the outbox is filled with judgement statements, then `lms-plugin xapi deliver`'s pass
(`lms_plugin.worker.drain`) sends them until none is queued; the rate counts from the first
claim to the last commit. Outbox cost: the same bulk request of 1,200 judgements (30 learners x
40 statements, each superseding an earlier judgement, so each writes its statement and a voiding
one) is timed in-process with and without the xAPI recorder among the listeners; the difference
per judgement and per outbox row is reported (medians).

Targets: over 1,000 statements/s delivered; under 1 ms per outbox row.

    python -m bench.xapi [--database sqlite|postgresql|both] [--statements 20000] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.assessment import Scenario, database
from bench.report import figure, verdict
from lms_plugin import create_app, migrate, worker
from lms_plugin.database import db, make_engine
from lms_plugin.learning_records import lrs
from lms_plugin.learning_records.recorder import XapiRecorder
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key
from tests.xapi.lrs_tools import ralph_server
from xapi.models import OutboxStatement
from xapi.outbox import Route, enqueue
from xapi.statements import (
    AgentRef,
    CompetencyRef,
    FrameworkRef,
    LevelRef,
    PlacementRef,
    StatementFactory,
)

RATE_TARGET = 1000.0
ROW_TARGET_MS = 1.0
BASE = "http://tool.test"


def fill_outbox(url: str, count: int) -> None:
    """`count` realistic judgement statements (about 1.7 kB each), queued."""
    factory = StatementFactory(BASE)
    framework = FrameworkRef(1, "Legal Secretaries and Administrative Assistants", "2025.1")
    levels = [LevelRef(i, f"level-{i}", f"Level {i}") for i in range(4)]
    placement = PlacementRef(1, "course-1", "Legal Support 101", 1, "link-1", "Competencies")
    evaluator = AgentRef("https://lms.example.edu", "teacher-1", "Ada Teacher")
    learners = [
        AgentRef("https://lms.example.edu", f"learner-{i}", f"Learner {i}") for i in range(100)
    ]
    start = dt.datetime.now(dt.UTC)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp()}
    )
    with app.app_context():
        built = []
        for n in range(count):
            competency = CompetencyRef(
                n % 40, f"Competency {n % 40} — in a law office, on deadline"
            )
            built.append(
                factory.judgement(
                    judgement_id=n,
                    judged_at=start + dt.timedelta(milliseconds=n),
                    verdict="met" if n % 3 else "not_yet",
                    learner=learners[n % len(learners)],
                    evaluator=evaluator,
                    competency=competency,
                    level=levels[(n % 40) // 10],
                    framework=framework,
                    placement=placement,
                    comment="Observed during the placement week.",
                )
            )
            if len(built) == 2000:
                enqueue(db.session, built, Route(None, None), dt.datetime.now(dt.UTC))
                built = []
        enqueue(db.session, built, Route(None, None), dt.datetime.now(dt.UTC))
        db.session.commit()


def delivery_rate(url: str, count: int, batch_size: int) -> float:
    with ralph_server(Path(tempfile.mkdtemp(prefix="bench-ralph-"))) as ralph:
        fill_outbox(url, count)
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": tempfile.mkdtemp(),
                "XAPI_LRS_ENDPOINT": ralph.endpoint,
                "XAPI_LRS_USERNAME": ralph.username,
                "XAPI_LRS_PASSWORD": ralph.password,
            }
        )
        with app.app_context():
            started = time.perf_counter()
            done, report = worker.drain(worker.statements(batch_size), timeout=600)
            elapsed = time.perf_counter() - started
            delivered = db.session.scalar(
                select(func.count()).where(OutboxStatement.state == "delivered")
            )
        assert done and delivered == count and report.dead == 0, (done, delivered, report)
        assert len(ralph.stored_ids()) == count
    return count / elapsed


def outbox_cost(url: str, runs: int) -> tuple[float, float]:
    """Median extra ms per judgement and per outbox row the xAPI recorder adds."""
    keyset = KeySetServer()
    try:
        scenario = Scenario(url, LtiPlatform(rsa_key(), keyset), "cost", 60)
        listeners = scenario.app.extensions["assessment_listeners"]
        without = [listener for listener in listeners if not isinstance(listener, XapiRecorder)]
        everything = list(listeners)
        first, second = scenario.learner_ids[:30], scenario.learner_ids[30:]
        scenario.bulk(first, "met")
        scenario.bulk(second, "met")
        extra, rows_per_judgement = [], []
        for run in range(runs):
            verdict_now = "not_yet" if run % 2 == 0 else "met"
            listeners[:] = without
            plain = scenario.bulk(first, verdict_now)
            listeners[:] = everything
            with scenario.app.app_context():
                before = db.session.scalar(select(func.count()).select_from(OutboxStatement))
            recorded = scenario.bulk(second, verdict_now)
            with scenario.app.app_context():
                after = db.session.scalar(select(func.count()).select_from(OutboxStatement))
            judgements = len(second) * len(scenario.statement_ids)
            extra.append((recorded - plain) / judgements)
            rows_per_judgement.append((after - before) / judgements)
        listeners[:] = everything
    finally:
        keyset.close()
    per_judgement = statistics.median(extra)
    return per_judgement, per_judgement / statistics.median(rows_per_judgement)


def run(kind: str, count: int, batch_size: int, runs: int) -> bool:
    with database(kind) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        rate = delivery_rate(url, count, batch_size)
    with database(kind) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        per_judgement, per_row = outbox_cost(url, runs)
    ok = rate > RATE_TARGET and per_row < ROW_TARGET_MS
    print(f"xAPI bench ({kind}; Ralph {batch_size} statements per request; {runs} runs)")
    figure(
        f"delivered to the LRS, {count:,} statements", f"{rate:,.0f} /s", f"> {RATE_TARGET:,.0f} /s"
    )
    figure("extra time per outbox row (median)", f"{per_row:.3f} ms", f"< {ROW_TARGET_MS:g} ms")
    figure("extra per judgement (statement + voiding)", f"{per_judgement:.3f} ms", "-")
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=lrs.DEFAULT_BATCH_SIZE)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run(kind, args.statements, args.batch_size, args.runs)


if __name__ == "__main__":
    main()
