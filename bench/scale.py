"""Institution scale (issue 17): each hot path on PostgreSQL at a year's worth of rows, beside the
same path on an empty database, as a ratio.

Two databases are built alike: the measured courses, placed through an LTI launch with a staff
session (2,000 learners x 40 statements, one course judged once per cell, another 10 times per
cell; the same for 200 learners) and 5,000 expired launch states; the full one also holds, seeded
with COPY, the rest of `--judgements` over 500 courses (interleaved in time with the measured
courses'), 1M xAPI statements delivered within the retention period and 1M live launch states
(`--scale 0.1`: a tenth). Paths, each the median of several runs:
- claim + drain of 20,000 queued statements (`xapi.delivery.Worker`, an LRS that answers at once);
- an idle worker pass (credentials, scores, rosters, xAPI; the purge throttled) and the purge
  check (nothing older than the retention), wall time and the time spent in SQL;
- `xapi status`'s counts (beside the count of delivered rows they replaced), the queued count
  and the drain loop's check for anything queued; the delivered tally checked against the rows;
- `launch_state` purge (500 expired rows of 5,000);
- current verdicts, 2,000 x 40 and 200 x 40 (a page of learners), judged once and 10 times per
  cell, as full rows (the grid's cells) and as verdicts alone (`details=False`), with 5M
  judgements in the full database's table (`--judgements`; the measured courses' 968,000 and the
  rest over 500 courses);
- the grid page a staff member waits for, server time (`Server-Timing`, in-process, as
  `bench.grid` reads it) in each measured course: the first page by name, the first page by
  progress just after a judgement, and a name and state filter;
- the launch POST over HTTP beside the bare pylti1p3 tool, in turn (`bench.launches.compare`,
  gunicorn on the database just measured): the ratio of the two, and our `record` phase.

Targets (issue 17, "Done when"): drain within 10% of the empty rate; an idle pass under 5 ms;
grid 2,000 x 40 under 150 ms and 200 x 40 under 50 ms (the pages' server time, and the current
verdicts' SQL); counts, purges and the launch flat (its ratio to the bare tool, whose 1.0x
target `bench.launches` reports, within 10% of the empty database's).

    python -m bench.scale [--scale 1.0] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, select, text, true

from bench import launches
from bench.assessment import SECRET, Scenario, database
from bench.report import figure, verdict
from lms_plugin import create_app, migrate, worker
from lms_plugin.assessment import current_cells, services
from lms_plugin.database import db, make_engine
from lms_plugin.lti.models import Course, Person, Platform, ResourceLink
from lms_plugin.lti.scores import score_counts
from lms_plugin.lti.state_store import StateStore
from lms_plugin.orm import Base, copy_rows
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key
from xapi import outbox
from xapi.delivery import Destination, Worker
from xapi.lrs import LrsAnswer, LrsSettings

BIG = 2000  # learners of the measured course
PAGE = 200  # learners on a page of the grid
DRAIN = 20_000
EXPIRED = 5000
PAYLOAD = json.dumps({"filler": "x" * 1400})  # about the size of a judgement statement
ISSUER = "https://lms.scale.test"
LRS = LrsSettings("http://127.0.0.1:9/xAPI/", "bench", "bench")
TARGETS = {"drain_ratio": 0.9, "idle_ms": 5.0, "grid_big_ms": 150.0, "grid_page_ms": 50.0}


class InstantLrs:
    """An LRS that stores everything at once: the drain measures the database alone."""

    def post_statements(self, payloads: Sequence[str]) -> LrsAnswer:
        return LrsAnswer(200, "[]")


# The measured courses: (learners, judgements a cell), each placed through an LTI launch.
COURSES = {"big_once": (BIG, 1), "big_tenfold": (BIG, 10), "page_once": (PAGE, 1),
           "page_tenfold": (PAGE, 10)}  # fmt: skip
GRID_PAGES = {
    "name": "",
    "progress": "?sort=progress",
    "filter": "?q=learner+1&state=missing-level",
}


@dataclass
class Seeded:
    links: dict[str, tuple[int, list[int]]]  # "once", "tenfold": a 2,000 course's link, learners
    courses: dict[str, Scenario]  # by `COURSES` key, with their staff sessions


def copy(connection: Connection, table: str, columns: Sequence[str], rows: Iterator[Any]) -> None:
    """COPY rows into a table as the app does (`lms_plugin.orm.copy_rows`, binary, in the
    connection's transaction)."""
    copy_rows(connection, Base.metadata.tables[table], columns, rows)


def placed(key: str, scenario: Scenario) -> tuple[int, int]:
    """A measured course's resource link and its staff member (who judges every cell)."""
    with scenario.app.app_context():
        staff = db.session.scalar(select(Person.id).where(Person.sub == f"{key}-staff"))
        assert staff is not None
        return scenario.link_id(), staff


def seed(url: str, scale: float, platform: LtiPlatform, judgements: int = 0) -> Seeded:
    """The measured courses, and with `scale` > 0 the year of rows around them: `judgements` in
    all (at least the measured courses')."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    courses = {key: Scenario(url, platform, key, size) for key, (size, _) in COURSES.items()}
    statements = courses["big_once"].statement_ids
    measured = {key: (*placed(key, courses[key]), courses[key].learner_ids) for key in COURSES}
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "BASE_URL": "http://t.test"})
    with app.app_context():
        platform_row = Platform(
            issuer=ISSUER,
            client_id="scale",
            auth_login_url=f"{ISSUER}/auth",
            auth_token_url=f"{ISSUER}/token",
            jwks_url=f"{ISSUER}/jwks",
        )
        db.session.add(platform_row)
        db.session.flush()
        version_id = db.session.scalar(
            select(ResourceLink.framework_version_id).where(
                ResourceLink.id == measured["big_once"][0]
            )
        )
        background_courses = [
            Course(platform_id=platform_row.id, context_id=f"c{n}", title=f"Course {n}")
            for n in range(500 if scale else 0)
        ]
        db.session.add_all(background_courses)
        db.session.flush()
        links = [
            ResourceLink(
                course_id=c.id, resource_link_id=f"l{c.id}", framework_version_id=version_id
            )
            for c in background_courses
        ]
        db.session.add_all(links)
        db.session.commit()
        link_ids = [link.id for link in links]
    app.extensions["database"].kw["bind"].dispose()
    background = int(1_000_000 * scale)
    in_courses = sum(size * len(statements) * times for size, times in COURSES.values())
    per_course = max(1, (judgements - in_courses) // (500 * len(statements))) if scale else 0
    with engine.begin() as connection:
        # the rows are consistent by construction: skip the foreign-key triggers while seeding
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        people = 500 * per_course + 1
        copy(
            connection,
            "people",
            ("issuer", "sub", "name", "given_name", "family_name", "created_at"),
            ((ISSUER, f"p{n}", f"Person {n}", "", "", now) for n in range(people)),
        )
        first = connection.scalar(
            text("SELECT min(id) FROM people WHERE issuer = :i"), {"i": ISSUER}
        )
        staff = first + people - 1
        # a judgement's columns in `cells`' order; `show_in_credential` keeps its default
        columns = tuple(c for c in current_cells.COPIED if c != "show_in_credential")

        def cells(
            link: int, who: Sequence[int], at: dt.datetime, judge: int
        ) -> Iterator[tuple[Any, ...]]:
            for learner in who:
                for n, statement in enumerate(statements):
                    verdict = "met" if (learner + n) % 3 else "not_yet"
                    yield (link, learner, statement, verdict, "Seen at work.", None, judge, at)

        def background_round(r: int) -> Iterator[tuple[Any, ...]]:
            for c, link in enumerate(link_ids):
                who = range(first + c * per_course, first + (c + 1) * per_course)
                rows = list(cells(link, who, now, staff))
                yield from rows[r::10]

        def judged(times: int, at: dt.datetime) -> None:
            for key, (_, each) in COURSES.items():
                link, judge, who = measured[key]
                if each == times:
                    copy(connection, "judgements", columns, cells(link, who, at, judge))

        for r in range(10):  # a year: the tenfold links' rounds between everyone else's work
            at = now - dt.timedelta(days=300 - 30 * r)
            if r == 0:
                judged(1, at)
            if scale:
                copy(connection, "judgements", columns, background_round(r))
            judged(10, at)
        # each cell's latest judgement, as `current_cells.keep` leaves it on write
        connection.execute(text(CURRENT))
        states = ("key", "value", "expires_at")
        expired = now - dt.timedelta(hours=1)
        copy(
            connection,
            "launch_state",
            states,
            ((f"old-{n}", "{}", expired) for n in range(EXPIRED)),
        )
        if scale:
            live = now + dt.timedelta(hours=12)
            rows = ((uuid.uuid4().hex, '{"nonce":1}', live) for _ in range(background))
            copy(connection, "launch_state", states, rows)
            outbox_columns = (
                "statement_id",
                "payload",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
                "delivered_at",
            )
            day = dt.timedelta(days=29) / max(background, 1)
            copy(
                connection,
                "xapi_outbox",
                outbox_columns,
                (
                    (
                        str(uuid.uuid4()),
                        PAYLOAD,
                        "delivered",
                        1,
                        now - n * day,
                        now - n * day,
                        now - n * day,
                    )
                    for n in range(background, 0, -1)
                ),
            )
            # as the worker would have tallied them, delivering
            connection.execute(
                text("UPDATE outbox_tallies SET total = :n WHERE outbox = 'xapi'"),
                {"n": background},
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    links = {
        name: (measured[f"big_{name}"][0], measured[f"big_{name}"][2])
        for name in ("once", "tenfold")
    }
    return Seeded(links, courses)


CURRENT = (
    "INSERT INTO current_judgements (judgement_id, resource_link_id, learner_id, statement_id, "
    "verdict, comment, evidence_url, show_in_credential, judged_by_id, judged_at) "
    "SELECT DISTINCT ON (resource_link_id, learner_id, statement_id) id, resource_link_id, "
    "learner_id, statement_id, verdict, comment, evidence_url, show_in_credential, judged_by_id, "
    "judged_at FROM judgements ORDER BY resource_link_id, learner_id, statement_id, id DESC"
)


def median_ms(run: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


class SqlClock:
    """Time spent in SQL statements (driver and server), summed between resets: on a loaded
    machine the wall time of a pass says more about the scheduler than about the database."""

    def __init__(self, engine: Any) -> None:
        self.total = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, *_args: Any) -> None:
        self.total += time.perf_counter() - conn.info.pop("bench_started")

    def median_ms(self, run: Callable[[], object], runs: int) -> float:
        samples = []
        for _ in range(runs):
            self.total = 0.0
            run()
            samples.append(self.total * 1000)
        return statistics.median(samples)


def measure(url: str, seeded: Seeded, runs: int) -> dict[str, float]:
    """Every hot path's figure on this database."""
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "BASE_URL": "http://t.test",
            "INSTANCE_PATH": tempfile.mkdtemp(),
            "XAPI_LRS_ENDPOINT": LRS.endpoint,
            "XAPI_LRS_USERNAME": LRS.username,
            "XAPI_LRS_PASSWORD": LRS.password,
        }
    )
    found: dict[str, float] = {}
    with app.app_context():
        session = db.session
        clock = SqlClock(db.engine)
        for name, (link, learners) in seeded.links.items():
            page = learners[:PAGE]
            for details in (True, False):
                key = name if details else f"{name}_verdicts"
                for size, who, repeat in (("big", None, runs), ("page", page, runs * 3)):

                    def read(link: int = link, who: Any = who, details: bool = details) -> None:
                        services.current_verdicts(session, link, who, details=details)

                    read()  # warm the cache
                    found[f"grid_{size}_{key}"] = median_ms(read, repeat)
                    found[f"grid_{size}_{key}_sql"] = clock.median_ms(read, repeat)
                session.commit()
        assert len(services.current_verdicts(session, link, page)) == PAGE * 40

        found["idle_pass"] = median_ms(idle_round, runs * 10)
        found["idle_pass_sql"] = clock.median_ms(idle_round, runs * 10)
        due = app.extensions["outbox_purge_due"]

        def purge_check() -> None:
            due[0] = 0.0
            worker.purge_once()

        found["purge_check"] = median_ms(purge_check, runs * 4)
        found["purge_check_sql"] = clock.median_ms(purge_check, runs * 4)
        found["status_counts"] = median_ms(lambda: outbox.counts(session), runs * 4)
        found["status_counts_sql"] = clock.median_ms(lambda: outbox.counts(session), runs * 4)
        found["old_counts"] = median_ms(lambda: old_counts(session), runs * 2)
        found["queued_count"] = median_ms(lambda: outbox.count(session, "queued"), runs * 10)
        found["queued_check"] = median_ms(lambda: outbox.any_queued(session), runs * 10)
        found["score_counts"] = median_ms(lambda: score_counts(session), runs * 2)
        session.commit()

        def purge_states() -> None:
            assert StateStore(session).purge_expired() == 500
            session.commit()

        found["state_purge"] = median_ms(purge_states, min(runs * 2, EXPIRED // 500))
        # the best of two: a pass of 20,000 is short enough for the machine's other work to halve it
        found["drain_rate"] = max(drain_rate(session), drain_rate(session))
        assert outbox.count(session, "delivered") == delivered_rows(session)  # the tally is exact
    app.extensions["database"].kw["bind"].dispose()
    # last: the judgements before the progress pages would give the worker passes work
    for key, course in seeded.courses.items():
        for page, median in grid_pages(course, runs).items():
            found[f"page_{key}_{page}"] = median
        course.app.extensions["database"].kw["bind"].dispose()
    return found


def grid_pages(course: Scenario, runs: int) -> dict[str, float]:
    """The grid page's server time (medians): the first page by name; by progress just after a
    judgement (the learner judged counted again); a name and state filter."""
    for query in GRID_PAGES.values():
        course.grid_page(query)  # warm (the progress counts kept from here on)
    times: dict[str, list[float]] = {page: [] for page in GRID_PAGES}
    for run in range(runs):
        course.bulk([course.learner_ids[run]], "met" if run % 2 == 0 else "not_yet")
        for page, query in GRID_PAGES.items():
            times[page].append(course.grid_page(query)[0])
    return {page: statistics.median(samples) for page, samples in times.items()}


def old_counts(session: Any) -> None:
    """What `counts()` read before the delivered tally: each state over its partial index."""
    for state in ("queued", "delivered", "dead"):
        session.execute(text(f"SELECT count(*) FROM xapi_outbox WHERE state = '{state}'")).all()
    session.execute(text("SELECT min(created_at) FROM xapi_outbox WHERE state = 'queued'")).all()


def delivered_rows(session: Any) -> int:
    return int(session.scalar(text("SELECT count(*) FROM xapi_outbox WHERE state = 'delivered'")))


def idle_round() -> None:
    for one_pass in (
        worker.issue_credentials_once,
        worker.deliver_scores_once,
        worker.sync_rosters_once,
        worker.deliver_xapi_once,
        worker.purge_once,
    ):
        one_pass()


def drain_rate(session: Any) -> float:
    """Statements per second: 20,000 queued, claimed and recorded in batches of 500."""
    now = dt.datetime.now(dt.UTC)
    rows = ((str(uuid.uuid4()), PAYLOAD, "queued", 0, now, now) for _ in range(DRAIN))
    copy(
        session.connection(),
        "xapi_outbox",
        ("statement_id", "payload", "state", "attempts", "next_attempt_at", "created_at"),
        rows,
    )
    session.commit()
    lrs = InstantLrs()
    sender = Worker(lambda _settings: lrs, batch_size=500, max_batches=1000)  # type: ignore[arg-type, return-value]
    target = Destination("bench", LRS, true())
    started = time.perf_counter()
    delivered = 0
    while delivered < DRAIN:
        report = sender.deliver(session, [target])
        delivered += report.delivered
        if not report.delivered:
            break
    elapsed = time.perf_counter() - started
    assert outbox.count(session, "queued") == 0
    return delivered / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1M rows per table")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--judgements", type=int, default=5_000_000, help="in the full database's table"
    )
    args = parser.parse_args(argv)
    print(
        f"Institution scale on PostgreSQL (scale {args.scale:g}: "
        f"{int(1_000_000 * args.scale):,} delivered statements and launch states; "
        f"{args.judgements:,} judgements)"
    )
    results = []
    keyset = KeySetServer()
    try:
        for label, scale in (("empty", 0.0), ("full", args.scale)):
            with database("postgresql") as url:
                started = time.perf_counter()
                platform = LtiPlatform(rsa_key(), keyset)
                seeded = seed(url, scale, platform, args.judgements if scale else 0)
                seeded_s = time.perf_counter() - started
                found = measure(url, seeded, args.runs)
                with launches.servers(url, platform) as served:
                    posts = launches.compare(platform, served)
                found["launch_ratio"] = posts.ratio
                found["launch_record"] = statistics.median(posts.phases["record"])
                results.append(found)
                print(f"  ({label} database seeded in {seeded_s:.1f} s)")
    finally:
        keyset.close()
    empty, full = results
    checks = [
        # key, label, unit, target, passed
        ("drain_rate", "claim + drain 20,000 statements", "/s", "within 10% of empty",
         full["drain_rate"] >= TARGETS["drain_ratio"] * empty["drain_rate"]),
        ("idle_pass", "idle worker pass, wall", "ms", "see SQL", True),
        ("idle_pass_sql", "idle worker pass, SQL", "ms", "under 5 ms",
         full["idle_pass_sql"] < TARGETS["idle_ms"]),
        ("purge_check", "retention purge, nothing due, wall", "ms", "see SQL", True),
        ("purge_check_sql", "retention purge, nothing due, SQL", "ms", "under 5 ms",
         full["purge_check_sql"] < TARGETS["idle_ms"]),
        ("queued_count", "queued count (deliver --drain message)", "ms", "under 5 ms",
         full["queued_count"] < TARGETS["idle_ms"]),
        ("queued_check", "anything queued? (drain loop)", "ms", "under 5 ms",
         full["queued_check"] < TARGETS["idle_ms"]),
        ("status_counts", "xapi status counts, wall", "ms", "see SQL", True),
        ("status_counts_sql", "xapi status counts, SQL", "ms", "under 5 ms, flat (x2)",
         full["status_counts_sql"] < min(TARGETS["idle_ms"], 2 * empty["status_counts_sql"] + 1)),
        ("old_counts", "xapi status counts, the query before the tally", "ms", "comparison", True),
        ("score_counts", "scores status counts", "ms", "flat (x2)",
         full["score_counts"] < 2 * empty["score_counts"] + 1),
        ("state_purge", "launch_state purge (500 rows)", "ms", "flat (x2)",
         full["state_purge"] < 2 * empty["state_purge"] + 1),
        ("launch_ratio", "launch POST, ours / bare pylti1p3", "x", "flat (x1.1)",
         full["launch_ratio"] <= 1.1 * empty["launch_ratio"]),
        ("launch_record", "launch POST record phase", "ms", "flat (x1.5)",
         full["launch_record"] <= 1.5 * empty["launch_record"]),
    ]  # fmt: skip
    for name, judged in (("once", "judged once"), ("tenfold", "judged 10x")):
        for key, what in ((name, "rows"), (f"{name}_verdicts", "verdicts")):
            for size, cells, target in (
                ("big", "2,000", "grid_big_ms"),
                ("page", "200", "grid_page_ms"),
            ):
                label = f"current {what} {cells}x40, {judged}"
                limit = TARGETS[target]
                figure_key = f"grid_{size}_{key}"
                checks.append((figure_key, f"{label}, wall", "ms", "see SQL", True))
                checks.append((f"{figure_key}_sql", f"{label}, SQL", "ms", f"under {limit:g} ms",
                               full[f"{figure_key}_sql"] < limit))  # fmt: skip
    for key, (size, times) in COURSES.items():
        limit = TARGETS["grid_big_ms" if size == BIG else "grid_page_ms"]
        for page, what in (
            ("name", "by name"),
            ("progress", "by progress"),
            ("filter", "filtered"),
        ):
            label = f"grid page {size:,}x40, judged {'once' if times == 1 else '10x'}, {what}"
            checks.append((f"page_{key}_{page}", f"{label}, server", "ms", f"under {limit:g} ms",
                           full[f"page_{key}_{page}"] < limit))  # fmt: skip
    ok = True
    for key, label, unit, target, passed in checks:
        ratio = full[key] / empty[key] if empty[key] else float("nan")
        figure(f"{label} (x{ratio:.2f})", f"{empty[key]:.1f} -> {full[key]:.1f} {unit}", target)
        ok = ok and passed
    verdict(ok)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
