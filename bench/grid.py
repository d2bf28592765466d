"""A course of thousands: the grid page for 2,000 learners x 40 statements, half the cells judged
(one of them twice), then every cell judged 10 times, on SQLite and PostgreSQL. Server time (from
`Server-Timing`, in-process) of the first page by name; of the first page by progress just after
a judgement (the learners judged since counted again) and of the next page; of a name and state
filter. Chromium's first-interactive time: from the start of navigation to the moment the grid's
script has made the first page usable (its `grid-interactive` performance mark), served over
loopback HTTP.

Targets: server under 150 ms, first screen interactive in Chromium under 1 s (medians).

    python -m bench.grid [--database sqlite|postgresql|both] [--runs 5] [--history 1 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import sync_playwright
from sqlalchemy import insert
from werkzeug.serving import make_server

from bench.assessment import Scenario, database
from bench.report import figure, verdict
from lms_plugin import migrate
from lms_plugin.assessment import current_cells
from lms_plugin.assessment.models import Judgement
from lms_plugin.database import db, make_engine
from lms_plugin.lti.models import Person
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import free_port
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key

LEARNERS = 2000
SHAPES = {1: "half the cells judged", 10: "every cell judged 10 times"}
SERVER_TARGET_MS = 150.0
BROWSER_TARGET_MS = 1000.0
# From the start of navigation to the grid's script having made the page usable.
INTERACTIVE = "performance.getEntriesByName('grid-interactive')[0].startTime"


def judge(scenario: Scenario, history: int) -> int:
    """Judgements recorded as `record_judgements` records them (rows, then the current cells).
    History 1: half the cells (a learner's first 20 statements; every fourth not yet), and a
    second judgement of each learner's first statement. History n: every cell judged n times,
    verdicts alternating (a long history the current verdicts must not read)."""
    now = dt.datetime.now(dt.UTC)
    statements = scenario.statement_ids
    if history == 1:
        rounds = [[(p, s) for p, s in enumerate(statements[:20] + statements[:1])]]
    else:
        rounds = [list(enumerate(statements))] * history
    total = 0
    with scenario.app.app_context():
        staff = db.session.query(Person).filter(Person.sub.like("%-staff")).one()
        link_id = scenario.link_id()
        for number, cells in enumerate(rounds):
            rows = [
                {
                    "resource_link_id": link_id,
                    "learner_id": learner_id,
                    "statement_id": statement_id,
                    "verdict": "not_yet" if (index + position + number) % 4 == 0 else "met",
                    "comment": None,
                    "evidence_url": None,
                    "judged_by_id": staff.id,
                    "judged_at": now,
                }
                for index, learner_id in enumerate(scenario.learner_ids)
                for position, statement_id in cells
            ]
            recorded = db.session.execute(
                insert(Judgement).returning(
                    Judgement.id,
                    Judgement.resource_link_id,
                    Judgement.learner_id,
                    Judgement.statement_id,
                ),
                rows,
            )
            current_cells.keep(db.session, recorded.all())
            db.session.commit()
            total += len(rows)
    return total


@contextmanager
def served(scenario: Scenario) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, scenario.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def browser_times(scenario: Scenario, runs: int) -> list[float]:
    """Chromium's first-interactive time of the grid page, each run in a fresh page."""
    cookie = scenario.client.get_cookie(scenario.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    times = []
    with served(scenario) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])
        page = context.new_page()
        page.goto(url + scenario.location)  # warm: static files cached, as on a second visit
        for _ in range(runs):
            page.goto(url + scenario.location, wait_until="load")
            assert page.locator("table.grid tbody tr").count() == 100
            times.append(float(page.evaluate(INTERACTIVE)))
        browser.close()
    return times


def run(kind: str, runs: int, history: int) -> bool:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    keyset = KeySetServer()
    try:
        with database(kind) as url:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            scenario = Scenario(url, platform=LtiPlatform(rsa_key(), keyset), context_id="huge",
                                learners=LEARNERS)  # fmt: skip
            judgements = judge(scenario, history)
            scenario.grid_page()  # warm
            by_name = [scenario.grid_page()[0] for _ in range(runs)]
            cold, warm, searched = [], [], []
            for run_number in range(runs):
                # A judgement first: the standings behind the sort are read again (cold), then
                # the next page reuses them (warm), as does a filter by state.
                learner = scenario.learner_ids[run_number]
                scenario.bulk([learner], "met" if run_number % 2 == 0 else "not_yet")
                cold.append(scenario.grid_page("?sort=progress")[0])
                warm.append(scenario.grid_page("?sort=progress&page=2")[0])
                searched.append(scenario.grid_page("?q=learner+1999&state=missing-level")[0])
            browser = browser_times(scenario, runs)
    finally:
        keyset.close()
    server = [statistics.median(times) for times in (by_name, cold, warm, searched)]
    browser_ms = statistics.median(browser)
    ok = max(server) < SERVER_TARGET_MS and browser_ms < BROWSER_TARGET_MS
    print(
        f"grid bench ({kind}, {LEARNERS:,} learners x {len(scenario.statement_ids)} statements, "
        f"{judgements:,} judgements ({SHAPES[history]}), pages of 100, {runs} runs, medians; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    target = f"< {SERVER_TARGET_MS:.0f} ms"
    for label, value in zip(
        (
            "server, first page by name",
            "server, by progress, just after a judgement",
            "server, by progress, next page",
            "server, name and state filter",
        ),
        server,
        strict=True,
    ):
        figure(label, f"{value:.1f} ms", target)
    figure(
        "Chromium, first screen interactive",
        f"{browser_ms:.0f} ms",
        f"< {BROWSER_TARGET_MS:.0f} ms",
    )
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--history",
        type=int,
        nargs="+",
        choices=sorted(SHAPES),
        default=sorted(SHAPES),
        help="1: half the cells judged; 10: every cell judged 10 times",
    )
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"Chromium is missing at {CHROMIUM}: run `make test` first")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        for history in args.history:
            run(kind, args.runs, history)


if __name__ == "__main__":
    main()
