"""Judging at scale: one bulk request of 1,200 judgements (30 learners x 40 statements), the same
request when it withdraws 120 levels (30 learners who held all four, their credentials issued,
judged "not yet" everywhere), and the grid page for 200 learners x 40 statements, on SQLite and
PostgreSQL, in-process (server time from `Server-Timing`). Also checks that the grid's query
count does not grow with learners, and counts the SQL statements of a withdrawing bulk save.
Each scenario settles the heap once set up, as `lms-plugin serve` does in each worker
(`lms_plugin.commands.serve.settle_heap`): without it, most withdrawing saves pay a full garbage
collection.

Targets: bulk saves under 150 ms, grid under 150 ms (medians), constant query count.

    python -m bench.assessment [--database sqlite|postgresql|both] [--runs 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from bench.report import figure, verdict
from lms_plugin import create_app, migrate
from lms_plugin.commands.serve import settle_heap
from lms_plugin.database import db, make_engine
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from lms_plugin.lti.models import Course
from lms_plugin.lti.services import LaunchContext, upsert_enrollment, upsert_person
from lms_plugin.lti.state_store import StateStore
from tests.builders import SEED_FILES
from tests.lti.platform import INSTRUCTOR, KeySetServer, LtiPlatform, rsa_key
from tests.sql_sent import sql_sent

BULK_TARGET_MS = 150.0
GRID_TARGET_MS = 150.0
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASE = "http://tool.test"
SECRET = "bench"  # the SECRET_KEY of the apps a bench runs on its databases


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_ms(response) -> float:  # type: ignore[no-untyped-def]
    return float(re.search(r"app;dur=([\d.]+)", response.headers["Server-Timing"]).group(1))


class Scenario:
    """A placed activity with all four levels (40 statements) and a staff launch."""

    def __init__(self, url: str, platform: LtiPlatform, context_id: str, learners: int) -> None:
        self.app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "INSTANCE_PATH": tempfile.mkdtemp(),
                "BASE_URL": BASE,
            }
        )
        platform.register(self.app)
        with self.app.app_context():
            results = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
            db.session.commit()
            version_id = results[0].version.id
        self.client = self.app.test_client()
        custom = {claims.CUSTOM: {"framework": str(version_id)}}
        context = {claims.CONTEXT: {"id": context_id}}
        response = platform.launch(
            self.client,
            BASE,
            sub=f"{context_id}-staff",
            **{claims.ROLES: [INSTRUCTOR]},
            **custom,
            **context,
        )
        location = response.headers["Location"]
        page = self.client.get(location).get_data(as_text=True)
        self.launch_id = location.rsplit("/", 1)[1]
        self.location = location
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        self.headers = {"X-LTI-Launch-Id": self.launch_id, "X-CSRFToken": csrf}
        with self.app.app_context():
            course = db.session.query(Course).filter_by(context_id=context_id).one()
            self.learner_ids = []
            for i in range(learners):
                person = upsert_person(
                    db.session,
                    platform.issuer,
                    {"sub": f"{context_id}-l{i}", "name": f"Learner {i:03d}"},
                )
                upsert_enrollment(
                    db.session,
                    course,
                    person,
                    ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                    "nrps",
                )
                self.learner_ids.append(person.id)
            db.session.commit()
        grid = self.client.get("/api/v1/grid", headers=self.headers).json
        self.statement_ids = [s["id"] for level in grid["levels"] for s in level["statements"]]
        settle_heap()  # as a serving process does once it has loaded the app

    def bulk(self, learner_ids: list[int], verdict: str) -> float:
        body = {
            "judgements": [
                {"learner_id": lid, "statement_id": sid, "verdict": verdict, "comment": "bench"}
                for lid in learner_ids
                for sid in self.statement_ids
            ]
        }
        response = self.client.post("/api/v1/judgements", headers=self.headers, json=body)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        return server_ms(response)

    def issue_credentials(self) -> None:
        """What the worker does after a bulk save that achieved levels: sign the credentials."""
        with self.app.app_context():
            while self.app.extensions["credential_issuer"].issue_pending(db.session).delivered:
                db.session.commit()
            db.session.commit()

    def withdrawing_bulk(self, learner_ids: list[int]) -> tuple[float, int]:
        """Judge the learners met everywhere (all four levels, credentials issued), then time and
        count the SQL statements of judging them all "not yet" (a level withdrawn each)."""
        self.bulk(learner_ids, "met")
        self.issue_credentials()
        with sql_sent(self.engine) as sent:
            server = self.bulk(learner_ids, "not_yet")
        return server, len(sent)

    @property
    def engine(self) -> Engine:
        """The app's database engine."""
        engine = self.app.extensions["database"].kw["bind"]
        assert isinstance(engine, Engine)
        return engine

    def link_id(self) -> int:
        """The placed resource link (inside an app context)."""
        launch = LaunchContext.load(StateStore(db.session), self.launch_id)
        assert launch is not None and launch.resource_link_id is not None
        return launch.resource_link_id

    def grid_page(self, query: str = "") -> tuple[float, int]:
        with sql_sent(self.engine) as sent:
            response = self.client.get(self.location + query)
        assert response.status_code == 200
        return server_ms(response), len(sent)


def run(kind: str, runs: int) -> bool:
    keyset = KeySetServer()
    try:
        with database(kind) as url:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            platform = LtiPlatform(rsa_key(), keyset)
            big = Scenario(url, platform, "big", 200)
            bulk_times = []
            for run_number in range(runs):
                batch = big.learner_ids[(run_number * 30) % 180 : (run_number * 30) % 180 + 30]
                bulk_times.append(big.bulk(batch, "met" if run_number % 2 == 0 else "not_yet"))
            grid_times, big_queries = zip(*(big.grid_page() for _ in range(runs)), strict=True)
            withdrawing = Scenario(url, platform, "withdraw", 30 * runs)
            withdraw_times, withdraw_statements = zip(
                *(
                    withdrawing.withdrawing_bulk(withdrawing.learner_ids[i * 30 : i * 30 + 30])
                    for i in range(runs)
                ),
                strict=True,
            )
            small = Scenario(url, platform, "small", 20)
            small.bulk(small.learner_ids[:10], "met")
            _, small_queries = small.grid_page()
    finally:
        keyset.close()
    bulk = statistics.median(bulk_times)
    withdraw = statistics.median(withdraw_times)
    grid = statistics.median(grid_times)
    constant = big_queries[-1] == small_queries
    ok = bulk < BULK_TARGET_MS and withdraw < BULK_TARGET_MS and grid < GRID_TARGET_MS and constant
    print(f"assessment bench ({kind}, {runs} runs, in-process, server time)")
    figure(
        "bulk save, 1,200 judgements (30 x 40), median",
        f"{bulk:.1f} ms",
        f"< {BULK_TARGET_MS:.0f} ms",
    )
    figure(
        "bulk save, 1,200 with 120 withdrawals, median",
        f"{withdraw:.1f} ms",
        f"< {BULK_TARGET_MS:.0f} ms",
    )
    figure("  SQL statements of that save", f"{withdraw_statements[-1]}", "flat in withdrawals")
    figure(
        "grid page, 200 learners x 40 statements, median",
        f"{grid:.1f} ms",
        f"< {GRID_TARGET_MS:.0f} ms",
    )
    figure(
        "grid queries, 200 learners / 20 learners", f"{big_queries[-1]} / {small_queries}", "equal"
    )
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run(kind, args.runs)


if __name__ == "__main__":
    main()
