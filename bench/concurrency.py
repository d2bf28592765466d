"""Concurrent judging against a real served app: N evaluators (default 20), each with its own LTI
launch and its own HTTP connection, judge a handful of learners for S seconds (default 60) as fast
as the server answers, so that several evaluators keep hitting the same learner, the same last
statement of a level, and batches spanning several learners. The server is gunicorn with threaded
workers (2 x 10 threads: every evaluator has a request in flight at once).

Afterwards the database is audited, and the bench prints the counts; the target of each is 0:
requests answered with a 5xx or anything but 201, achievements lost (every statement met but no
active achievement) or stale (active but no longer met), achievements duplicated (achieved while
another of the same learner, placement and level was active), credential requests duplicated or
missing, xAPI outbox statements duplicated, missing or unexplained, and superseded judgements whose
statement was never voided. Exit status 1 when any count is not 0.

    python -m bench.concurrency [--database sqlite|postgresql|both] [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from bench.report import figure, verdict
from lms_plugin import create_app, migrate
from lms_plugin.assessment import services
from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.assessment.rules import achieved_levels
from lms_plugin.config import PROJECT_ROOT, normalize_database_url
from lms_plugin.credentials.models import Credential, CredentialRequest
from lms_plugin.database import db, make_engine
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims
from lms_plugin.lti.models import ResourceLink
from tests.lti.platform import INSTRUCTOR, LEARNER, KeySetServer, LtiPlatform, rsa_key
from xapi.models import OutboxStatement
from xapi.statements import VOIDED, StatementFactory

POSTGRES_URL = normalize_database_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
LEARNERS = 4
LEVELS = "emerging,developing"
WORKERS, THREADS = 2, 10
STARTUP_SECONDS = 30
REQUEST_TIMEOUT = 60
ACTIVITY = ("requests", "achievements", "superseded_judgements")


@dataclass
class Counts:
    """What the run did (`requests`, `achievements`, `superseded_judgements`) and every anomaly
    found (the other counts, all to be 0)."""

    requests: int = 0
    achievements: int = 0
    superseded_judgements: int = 0
    server_errors: int = 0
    other_failures: int = 0
    lost_achievements: int = 0
    stale_achievements: int = 0
    duplicated_achievements: int = 0
    duplicated_credential_requests: int = 0
    missing_credential_requests: int = 0
    duplicated_statements: int = 0
    missing_statements: int = 0
    unexplained_statements: int = 0
    unvoided_judgements: int = 0

    def anomalies(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ACTIVITY}


def audit(session: Session, base_url: str, counts: Counts) -> None:
    """Check the stored state against the judgements, adding what is wrong to `counts`."""
    factory = StatementFactory(base_url)
    for link in session.scalars(
        select(ResourceLink).where(ResourceLink.framework_version_id.is_not(None))
    ):
        placement = services.load_placement(session, link)
        assert placement is not None
        met: dict[int, dict[int, bool]] = defaultdict(dict)
        for (learner, statement), row in services.current_verdicts(session, link.id).items():
            met[learner][statement] = row.verdict == "met"
        expected = {
            (learner, level)
            for learner, verdicts in met.items()
            for level in achieved_levels(placement.level_statements, verdicts, placement.rule)
        }
        active = Counter(
            (a.learner_id, a.level_id) for a in services.active_achievements(session, link.id)
        )
        counts.lost_achievements += len(expected - active.keys())
        counts.stale_achievements += len(active.keys() - expected)

    wanted: set[str] = set()  # every statement id the stored rows explain
    present: Counter[str] = Counter()
    voided: Counter[str] = Counter()
    for row in session.execute(select(OutboxStatement.statement_id, OutboxStatement.payload)):
        present[row.statement_id] += 1
        statement = json.loads(row.payload)
        if statement["verb"]["id"] == VOIDED:
            voided[statement["object"]["id"]] += 1
    counts.duplicated_statements += sum(n - 1 for n in present.values())
    counts.duplicated_statements += sum(n - 1 for n in voided.values())

    def expect(statement_id: str) -> bool:
        wanted.add(statement_id)
        return statement_id in present

    judgements = session.execute(
        select(
            Judgement.id,
            Judgement.resource_link_id,
            Judgement.learner_id,
            Judgement.statement_id,
            Judgement.verdict,
            Judgement.judged_at,
        ).order_by(Judgement.id)
    ).all()
    latest = {(j.resource_link_id, j.learner_id, j.statement_id): j.id for j in judgements}
    for j in judgements:
        if j.verdict == "clear":
            continue
        own = factory.judgement_statement_id(j.id, j.judged_at)
        counts.missing_statements += not expect(own)
        if latest[(j.resource_link_id, j.learner_id, j.statement_id)] != j.id:
            counts.superseded_judgements += 1
            counts.unvoided_judgements += not expect(factory.statement_id(f"void/{own}"))

    requests_of = Counter(session.scalars(select(CredentialRequest.achievement_id)))
    held: dict[tuple[int, int, int], list[LevelAchievement]] = defaultdict(list)
    for achievement in session.scalars(select(LevelAchievement).order_by(LevelAchievement.id)):
        counts.achievements += 1
        key = (achievement.resource_link_id, achievement.learner_id, achievement.level_id)
        overlapping = any(
            earlier.withdrawn_at is None or earlier.withdrawn_at > achievement.achieved_at
            for earlier in held[key]
        )
        held[key].append(achievement)
        own = factory.level_statement_id(achievement.id, achievement.achieved_at)
        counts.missing_statements += not expect(own)
        if achievement.withdrawn_at is not None:
            counts.missing_statements += not expect(factory.statement_id(f"void/{own}"))
        n = requests_of[achievement.id]
        counts.missing_credential_requests += n == 0
        counts.duplicated_credential_requests += max(0, n - 1) + (overlapping and n > 0)
        if overlapping:
            counts.duplicated_achievements += 1
            counts.duplicated_statements += own in present
    for credential_id in session.scalars(select(Credential.id)):
        wanted.add(factory.credential_statement_id(base_url + f"/credentials/{credential_id}"))
    counts.unexplained_statements += len(present.keys() - wanted)


# --- the served app and its evaluators -------------------------------------------------------


class Browser:
    """One person's browser: a launch through the real OIDC flow, then API calls under it."""

    def __init__(self, base: str, platform: LtiPlatform) -> None:
        self.base = base
        self.platform = platform
        self.http = requests.Session()
        self.headers: dict[str, str] = {}

    def launch(self, sub: str, name: str, role: str, **extra: Any) -> None:
        login = self.http.get(
            f"{self.base}/lti/login",
            params={
                "iss": self.platform.issuer,
                "login_hint": sub,
                "target_link_uri": f"{self.base}/lti/launch",
                "client_id": self.platform.client_id,
                "lti_deployment_id": self.platform.deployment_id,
            },
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        assert login.status_code == 302, (login.status_code, login.text[:300])
        auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        body = self.platform.claims(auth["nonce"], self.base, sub=sub, name=name, **extra)
        body[claims.ROLES] = [role]
        launched = self.http.post(
            f"{self.base}/lti/launch",
            data={"id_token": self.platform.sign(body), "state": auth["state"]},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        assert launched.status_code == 303, (launched.status_code, launched.text[:300])
        page = self.http.get(urljoin(self.base, launched.headers["Location"]), timeout=30).text
        found = {
            name: re.search(rf'<meta name="{name}" content="([^"]+)"', page)
            for name in ("csrf-token", "launch-id")
        }
        assert all(found.values()), page[:500]
        self.headers = {
            "X-CSRFToken": found["csrf-token"].group(1),  # type: ignore[union-attr]
            "X-LTI-Launch-Id": found["launch-id"].group(1),  # type: ignore[union-attr]
        }

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, headers=self.headers, timeout=REQUEST_TIMEOUT)

    def judge(self, items: list[tuple[int, int, str]]) -> requests.Response:
        body = {
            "judgements": [
                {"learner_id": learner, "statement_id": statement, "verdict": verdict}
                for learner, statement, verdict in items
            ]
        }
        return self.http.post(
            f"{self.base}/api/v1/judgements",
            headers=self.headers,
            json=body,
            timeout=REQUEST_TIMEOUT,
        )


def workload(rng: random.Random, learners: list[int], statements: list[int]) -> list[Any]:
    """One request's judgements, mostly "met" so that levels keep being reached and undone:
    one or two cells of one learner, or the same statement for two learners in random order
    (a batch taking several learners' locks)."""
    verdict = rng.choices(["met", "not_yet", "clear"], weights=[80, 16, 4])[0]
    roll = rng.random()
    if roll < 0.15:
        statement = rng.choice(statements)
        return [(learner, statement, verdict) for learner in rng.sample(learners, 2)]
    learner = rng.choice(learners)
    cells = rng.sample(statements, 2 if roll < 0.4 else 1)
    return [(learner, statement, verdict) for statement in cells]


@contextmanager
def database(kind: str, postgres_url: str) -> Iterator[str]:
    """A fresh database, dropped afterwards (SQLite: a temporary file)."""
    if kind == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-concurrency-')) / 'db.sqlite3'}"
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(postgres_url).set(database=name).render_as_string(False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def served(url: str, base: str, workdir: Path) -> Iterator[None]:
    """gunicorn serving the app on `base` (threaded workers), stopped afterwards."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BASE_URL": base,
        "SECRET_KEY": "bench-secret",
        "INSTANCE_PATH": str(workdir),
        "SANDBOX_ENABLED": "0",
    }
    log = workdir / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--worker-class",
                "gthread",
                "--bind",
                base.removeprefix("http://"),
                "lms_plugin:create_app()",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(kind: str, clients: int, seconds: float, postgres_url: str = POSTGRES_URL) -> Counts:
    """Set up a course over real launches, let `clients` evaluators judge for `seconds`, stop the
    server and audit the database."""
    counts = Counts()
    workdir = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    base = f"http://127.0.0.1:{free_port()}"
    keyset = KeySetServer()
    try:
        with database(kind, postgres_url) as url:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            app = create_app(
                {
                    "DATABASE_URL": url,
                    "SECRET_KEY": "bench-secret",
                    "INSTANCE_PATH": str(workdir),
                    "SEEDS_DIR": str(PROJECT_ROOT / "seeds"),
                    "BASE_URL": base,
                }
            )
            try:
                platform = LtiPlatform(rsa_key(), keyset)
                platform.register(app)
                with app.app_context():
                    seeds = sorted((PROJECT_ROOT / "seeds").glob("*.json"))
                    imported = frameworks.import_frameworks(
                        db.session, map(read_framework_file, seeds)
                    )
                    db.session.commit()
                    version_id = imported[0].version.id
                extra = {
                    claims.CUSTOM: {"framework": str(version_id), "levels": LEVELS},
                    claims.CONTEXT: {"id": "bench-course", "title": "Bench course"},
                    claims.RESOURCE_LINK: {"id": "bench-link", "title": "Competencies"},
                }
                with served(url, base, workdir):
                    _judge(base, platform, extra, clients, seconds, counts)
                with app.app_context():
                    audit(db.session, base, counts)
            finally:
                app.extensions["database"].kw["bind"].dispose()
    finally:
        keyset.close()
    return counts


def _judge(
    base: str,
    platform: LtiPlatform,
    extra: dict[str, Any],
    clients: int,
    seconds: float,
    counts: Counts,
) -> None:
    for i in range(LEARNERS):
        Browser(base, platform).launch(f"learner-{i}", f"Learner {i}", LEARNER, **extra)
    evaluators = []
    for i in range(clients):
        evaluator = Browser(base, platform)
        evaluator.launch(f"evaluator-{i}", f"Evaluator {i}", INSTRUCTOR, **extra)
        evaluators.append(evaluator)
    grid = evaluators[0].get("/api/v1/grid").json()
    learners = [learner["id"] for learner in grid["learners"]]
    statements = [s["id"] for level in grid["levels"] for s in level["statements"]]
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def evaluate(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - reproducible load, not cryptography
        evaluator = evaluators[number]
        mine: Counter[int] = Counter()
        while time.monotonic() < stop:
            response = evaluator.judge(workload(rng, learners, statements))
            mine[response.status_code] += 1
            if response.status_code != 201 and len(failures) < 5:
                failures.append(f"{response.status_code} {response.text[:300]}")
        with lock:
            statuses.update(mine)

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts.requests = sum(statuses.values())
    counts.server_errors = sum(n for status, n in statuses.items() if status >= 500)
    counts.other_failures = sum(n for status, n in statuses.items() if status < 500) - statuses[201]
    for failure in failures:
        print(f"  answer: {failure}", file=sys.stderr)


def report(kind: str, clients: int, seconds: float, counts: Counts) -> bool:
    ok = not any(counts.anomalies().values())
    print(
        f"concurrency bench ({kind}, gunicorn {WORKERS} workers x {THREADS} threads, "
        f"{clients} evaluators, {seconds:g} s, {LEARNERS} learners)"
    )
    figure("judging requests", str(counts.requests), "-")
    figure("levels achieved (rows, withdrawn ones included)", str(counts.achievements), "-")
    figure("superseded judgements (non-clear)", str(counts.superseded_judgements), "-")
    for name, value in counts.anomalies().items():
        figure(name.replace("_", " "), str(value), "0")
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = [
        report(kind, args.clients, args.seconds, run(kind, args.clients, args.seconds))
        for kind in kinds
    ]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
