"""Delivering what the outboxes hold (grade passback to the LMS, xAPI statements to the LRSs):
one pass, a loop for `lms-plugin ... deliver`, and a background thread for the embedded demo."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app
from sqlalchemy import func, select

from lms_plugin import xapi_delivery
from lms_plugin.assessment.awards import CredentialAwards
from lms_plugin.database import db
from lms_plugin.lti import current
from lms_plugin.lti.models import ScoreOutbox
from lms_plugin.lti.scores import DeliveryReport, deliver_scores
from xapi.delivery import DeliveryReport as XapiReport

log = logging.getLogger(__name__)


def issue_credentials_once() -> XapiReport:
    """Sign the queued credential requests, committed (inside an app context)."""
    issuer: CredentialAwards = current_app.extensions["credential_issuer"]
    try:
        report = issuer.issue_pending(db.session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def deliver_once() -> DeliveryReport:
    """One delivery pass, committed (inside an app context)."""
    try:
        return deliver_scores(db.session, current.platform_client)
    except Exception:
        db.session.rollback()
        raise


class BackgroundDelivery(threading.Thread):
    """Every `interval` seconds: signs queued credentials, then delivers scores and xAPI
    statements, until stopped (the embedded default; `lms-plugin worker` in production)."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        super().__init__(name="outbox-delivery", daemon=True)
        self.app = app
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for deliver in (issue_credentials_once, deliver_once, xapi_delivery.deliver_once):
                with self.app.app_context():
                    try:
                        deliver()
                    except Exception:  # keep delivering: one bad pass must not stop the loop
                        log.exception("delivery pass failed")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def queued_scores() -> int:
    query = select(func.count()).select_from(ScoreOutbox).where(ScoreOutbox.state == "queued")
    return db.session.scalar(query) or 0


def drain(timeout: float, interval: float = 0.5) -> bool:
    """Deliver until nothing is queued (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_once()
        if queued_scores() == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
