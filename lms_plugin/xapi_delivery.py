"""The Flask side of xAPI delivery: the LRS settings from the app's configuration and database,
one delivery pass inside an app context, and draining (for `lms-plugin xapi deliver` and the
demo's background delivery thread)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import current_app

from lms_plugin.database import db
from xapi import delivery, outbox
from xapi.delivery import DeliveryReport, Destination, Worker
from xapi.lrs import LrsClient, LrsConfigError, LrsSettings

log = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 500


def default_lrs(config: Mapping[str, Any]) -> LrsSettings | None:
    """The LRS for every platform without its own: `XAPI_LRS_ENDPOINT` and its credentials."""
    endpoint = config.get("XAPI_LRS_ENDPOINT")
    if not endpoint:
        return None
    return LrsSettings(
        endpoint=endpoint,
        username=config.get("XAPI_LRS_USERNAME") or "",
        password=config.get("XAPI_LRS_PASSWORD") or "",
    )


def destinations(problems: list[str] | None = None) -> list[Destination]:
    """Every configured LRS with the outbox rows it takes (inside an app context)."""
    box = current_app.extensions["secret_box"]
    problems = problems if problems is not None else []
    try:
        default = default_lrs(current_app.config)
    except LrsConfigError as error:
        problems.append(f"XAPI_LRS_ENDPOINT: {error}")
        default = None
    return delivery.destinations(
        db.session,
        default,
        lambda ciphertext: box.decrypt(ciphertext).decode("utf-8"),
        problems,
    )


def client_for(settings: LrsSettings) -> LrsClient:
    """One client (keep-alive connections) per LRS setting, kept by the app."""
    clients: dict[LrsSettings, LrsClient] = current_app.extensions.setdefault("xapi_clients", {})
    client = clients.get(settings)
    if client is None:
        client = clients[settings] = LrsClient(settings, timeout=request_timeout())
    return client


def request_timeout() -> float:
    return max(1.0, float(current_app.config["XAPI_LRS_TIMEOUT"]))


def worker(batch_size: int = DEFAULT_BATCH_SIZE) -> Worker:
    """A worker whose lease outlasts any request: 3 x XAPI_LRS_TIMEOUT."""
    timeout = request_timeout()
    return Worker(
        client_for,
        batch_size=batch_size,
        request_timeout=timeout,
        lease_seconds=3 * timeout,
    )


def deliver_once(batch_size: int = DEFAULT_BATCH_SIZE) -> DeliveryReport:
    """One xAPI delivery pass over every configured LRS, committed (inside an app context)."""
    problems: list[str] = []
    try:
        targets = destinations(problems)
        db.session.commit()  # end the read transaction before any LRS is called
        report = worker(batch_size).deliver(db.session, targets)
    except Exception:
        db.session.rollback()
        raise
    report.problems += problems
    if problems != current_app.extensions.get("xapi_problems"):  # say it once, not every pass
        current_app.extensions["xapi_problems"] = problems
        for problem in problems:
            log.error("xAPI: cannot deliver to %s", problem)
    return report


def queued() -> int:
    return int(outbox.counts(db.session)["queued"] or 0)


def drain(
    timeout: float, interval: float = 0.5, batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[bool, DeliveryReport]:
    """Deliver until nothing is queued (True) or `timeout` seconds pass (False); stops early,
    returning False, when an LRS refuses our credentials."""
    deadline = time.monotonic() + timeout
    total = DeliveryReport()
    while True:
        report = deliver_once(batch_size)
        total.add(report)
        remaining = queued()
        db.session.commit()
        if remaining == 0:
            return True, total
        if report.refused or time.monotonic() >= deadline:
            return False, total
        if not report.delivered:
            time.sleep(interval)
