"""The roster sync in the worker: a staff launch in a course of 20,000 members (the launch only
asks for a sync), and the worker reading that roster whole, in pages of 50 with `Link` headers
(Canvas's way) from an in-process fake platform, on SQLite and PostgreSQL.

Targets: staff launch under 300 ms server time (median, `Server-Timing`); every member synced.

    python -m bench.roster [--database sqlite|postgresql|both] [--members 20000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from sqlalchemy import func, select

from bench.assessment import BASE, database, server_ms
from bench.report import figure, verdict
from lms_plugin import create_app, migrate
from lms_plugin.database import db, make_engine
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims, current, nrps
from lms_plugin.lti.models import Enrollment
from tests.builders import SEED_FILES
from tests.lti.platform import INSTRUCTOR, KeySetServer, LtiPlatform, rsa_key
from tests.lti.test_roster_sync import ROSTER, FakeNrps

LAUNCH_TARGET_MS = 300.0


def run(kind: str, members: int, runs: int) -> bool:
    keyset = KeySetServer()
    try:
        with database(kind) as url:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            app = create_app(
                {
                    "DATABASE_URL": url,
                    "SECRET_KEY": "bench",
                    "INSTANCE_PATH": tempfile.mkdtemp(),
                    "BASE_URL": BASE,
                }
            )
            platform = LtiPlatform(rsa_key(), keyset)
            platform.register(app)
            with app.app_context():
                results = frameworks.import_frameworks(
                    db.session, map(read_framework_file, SEED_FILES)
                )
                db.session.commit()
                version_id = results[0].version.id
            roster = FakeNrps(size=members)
            app.extensions["lti_http"] = roster

            def launch(sub: str) -> float:
                response = platform.launch(
                    app.test_client(),
                    BASE,
                    sub=sub,
                    **{
                        claims.ROLES: [INSTRUCTOR],
                        claims.CUSTOM: {"framework": str(version_id)},
                        claims.NRPS: {"context_memberships_url": ROSTER},
                    },
                )
                assert response.status_code == 303, response.get_data(as_text=True)[:300]
                return server_ms(response)

            asking = launch("staff-0")
            assert not roster.calls, "the launch called the platform"
            started = time.perf_counter()
            with app.app_context():
                while nrps.sync_rosters(db.session, current.platform_client).delivered:
                    pass
                synced = db.session.scalar(
                    select(func.count()).select_from(Enrollment).where(~Enrollment.is_staff)
                )
            seconds = time.perf_counter() - started
            launches = [launch(f"staff-{i}") for i in range(1, runs + 1)]
    finally:
        keyset.close()
    median = statistics.median(launches)
    ok = asking < LAUNCH_TARGET_MS and median < LAUNCH_TARGET_MS and synced == members
    print(f"roster bench ({kind}, {members:,} members in pages of 50, in-process, server time)")
    figure("staff launch asking for a sync", f"{asking:.1f} ms", f"< {LAUNCH_TARGET_MS:.0f} ms")
    figure(
        f"staff launch, course of {members:,}, median of {runs}",
        f"{median:.1f} ms",
        f"< {LAUNCH_TARGET_MS:.0f} ms",
    )
    figure("worker sync, whole roster", f"{seconds:.1f} s", "all members")
    figure("worker sync throughput", f"{members / seconds:,.0f}/s", "-")
    figure("members synced", f"{synced:,} / {members:,}", "all")
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run(kind, args.members, args.runs)


if __name__ == "__main__":
    main()
