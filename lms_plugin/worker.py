"""The one background loop over every outbox: credential requests to sign, scores for the LMS
gradebooks (AGS), course rosters to read (NRPS), xAPI statements for the LRSs, and the purge of
what they delivered long ago (`OUTBOX_RETENTION_DAYS`). One pass of each, committed (inside an
app context); `drain` for `... deliver --drain`; `run` for `... deliver`, `lms-plugin worker` and
the demo's background thread. Every pass answers with one report
(`xapi.delivery.DeliveryReport`)."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, select

from lms_plugin.assessment.awards import CredentialAwards, purge_requests
from lms_plugin.database import db
from lms_plugin.learning_records import lrs
from lms_plugin.lti import current, nrps
from lms_plugin.lti.models import ScoreOutbox
from lms_plugin.lti.scores import deliver_scores, purge_scores
from lms_plugin.orm import is_state, utcnow
from xapi import outbox as xapi_outbox
from xapi.delivery import DeliveryReport

log = logging.getLogger(__name__)
Pass = Callable[[], DeliveryReport]
PURGE_BATCH = 2000
PURGE_EVERY = 60.0


def issue_credentials_once() -> DeliveryReport:
    """Sign the queued credential requests, committed."""
    issuer: CredentialAwards = current_app.extensions["credential_issuer"]
    try:
        report = issuer.issue_pending(db.session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def deliver_scores_once() -> DeliveryReport:
    """One pass of grade passback, committed."""
    try:
        return deliver_scores(db.session, current.platform_client)
    except Exception:
        db.session.rollback()
        raise


def sync_rosters_once() -> DeliveryReport:
    """One roster sync pass (NRPS), committed page by page."""
    try:
        return nrps.sync_rosters(db.session, current.platform_client)
    except Exception:
        db.session.rollback()
        raise


def deliver_xapi_once(batch_size: int = lrs.DEFAULT_BATCH_SIZE) -> DeliveryReport:
    """One xAPI delivery pass over every configured LRS, committed."""
    problems: list[str] = []
    try:
        targets = lrs.destinations(problems)
        db.session.commit()  # end the read transaction before any LRS is called
        report = lrs.worker(batch_size).deliver(db.session, targets)
    except Exception:
        db.session.rollback()
        raise
    report.problems += problems
    if problems != current_app.extensions.get("xapi_problems"):  # say it once, not every pass
        current_app.extensions["xapi_problems"] = problems
        for problem in problems:
            log.error("xAPI: cannot deliver to %s", problem)
    return report


def purge_once(now: dt.datetime | None = None) -> DeliveryReport:
    """Delete what every outbox delivered more than `OUTBOX_RETENTION_DAYS` ago (xAPI statements,
    scores, credential requests), at most `PURGE_BATCH` rows of each, committed; delivered xAPI
    statements are appended to `XAPI_ARCHIVE_DIR` first when it is set (if that fails, nothing
    is deleted). Once a purge finds less than a full batch, the next waits `PURGE_EVERY` s."""
    days = current_app.config["OUTBOX_RETENTION_DAYS"]
    due = current_app.extensions.setdefault("outbox_purge_due", [0.0])
    if not days or time.monotonic() < due[0]:
        return DeliveryReport()
    before = (now or utcnow()) - dt.timedelta(days=days)
    folder = current_app.config.get("XAPI_ARCHIVE_DIR")
    archive = partial(archive_statements, Path(folder)) if folder else None
    try:
        purged = (
            xapi_outbox.purge_delivered(db.session, before, PURGE_BATCH, archive),
            purge_scores(db.session, before, PURGE_BATCH),
            purge_requests(db.session, before, PURGE_BATCH),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    due[0] = 0.0 if max(purged) >= PURGE_BATCH else time.monotonic() + PURGE_EVERY
    if any(purged):
        log.info("purged %d statement(s), %d score(s), %d credential request(s)", *purged)
    return DeliveryReport()


def archive_statements(folder: Path, payloads: list[str]) -> None:
    """Append statements to today's archive file (UTC), one a line, on disk before returning;
    several workers may append at once (the file is locked while written)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"xapi-delivered-{utcnow():%Y-%m-%d}.jsonl"
    with path.open("ab") as archive:
        fcntl.flock(archive, fcntl.LOCK_EX)
        archive.write(b"".join(p.encode("utf-8") + b"\n" for p in payloads))
        archive.flush()
        os.fsync(archive.fileno())


def queued_scores() -> int:
    query = select(func.count()).where(is_state(ScoreOutbox.state, "queued"))
    return db.session.scalar(query) or 0


def any_queued_score() -> bool:
    query = select(ScoreOutbox.id).where(is_state(ScoreOutbox.state, "queued")).limit(1)
    return db.session.scalar(query) is not None


def queued_statements() -> int:
    return xapi_outbox.count(db.session, "queued")


def any_queued_statement() -> bool:
    return xapi_outbox.any_queued(db.session)


@dataclass(frozen=True)
class Outbox:
    """An outbox as the loop sees it: one delivery pass, and whether any row is still queued
    (asked after every pass: one index entry read, not a count of the queue)."""

    name: str
    deliver_once: Pass
    any_queued: Callable[[], bool]


SCORES = Outbox("scores", deliver_scores_once, any_queued_score)


def statements(batch_size: int = lrs.DEFAULT_BATCH_SIZE) -> Outbox:
    return Outbox("xapi", lambda: deliver_xapi_once(batch_size), any_queued_statement)


def drain(outbox: Outbox, timeout: float, interval: float = 0.5) -> tuple[bool, DeliveryReport]:
    """Deliver until nothing is queued (True) or `timeout` seconds pass (False); stops early,
    returning False, when a receiver refuses our credentials."""
    deadline = time.monotonic() + timeout
    total = DeliveryReport()
    while True:
        report = outbox.deliver_once()
        total.add(report)
        remaining = outbox.any_queued()
        db.session.commit()
        if not remaining:
            return True, total
        if report.refused or time.monotonic() >= deadline:
            return False, total
        if not report.delivered:
            time.sleep(interval)


def run(
    passes: Sequence[Pass],
    interval: float,
    stopped: threading.Event,
    on_report: Callable[[DeliveryReport], None] | None = None,
) -> None:
    """Run every pass in turn until `stopped` (or `on_report` raises); wait `interval` seconds
    after a round that delivered nothing."""
    while not stopped.is_set():
        delivered = 0
        for deliver in passes:
            report = deliver()
            if on_report is not None:
                on_report(report)
            delivered += report.delivered
        if not delivered:
            stopped.wait(interval)


class BackgroundDelivery(threading.Thread):
    """Signs queued credentials, then delivers scores, reads rosters and delivers xAPI statements,
    round after round, until stopped (the embedded default; `lms-plugin worker` in production)."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        super().__init__(name="outbox-delivery", daemon=True)
        self.app = app
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        passes = (
            issue_credentials_once,
            deliver_scores_once,
            sync_rosters_once,
            deliver_xapi_once,
            purge_once,
        )
        run([self._guarded(deliver) for deliver in passes], self.interval, self.stopped)

    def stop(self) -> None:
        self.stopped.set()

    def _guarded(self, deliver: Pass) -> Pass:
        def one_pass() -> DeliveryReport:
            with self.app.app_context():
                try:
                    return deliver()
                except Exception:  # keep delivering: one bad pass must not stop the loop
                    log.exception("delivery pass failed")
                    return DeliveryReport()

        return one_pass
