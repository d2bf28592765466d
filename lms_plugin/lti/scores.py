"""Grade passback: a learner's score (levels achieved / levels in scope) is queued in the score
outbox whenever their levels change, and delivered to the LMS (AGS) after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.lti import ags, claims
from lms_plugin.lti.models import Course, Person, Platform, ResourceLink, ScoreOutbox
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.orm import utcnow
from xapi.delivery import Backoff, DeliveryReport

if TYPE_CHECKING:
    from lms_plugin.assessment.models import Judgement
    from lms_plugin.assessment.services import LevelEvent, Placement

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BACKOFF = Backoff(base=2.0, cap=3600.0)  # attempt n waits up to 2**n s, at most an hour


class ScorePassback:
    """Assessment listener: queue the learner's new score on every level change."""

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[Judgement]
    ) -> None:
        """Scores follow levels, not single judgements."""

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        verb = "Achieved" if event.kind == "achieved" else "Withdrawn"
        now = event.at
        session.add(
            ScoreOutbox(
                resource_link_id=placement.link.id,
                learner_id=event.learner_id,
                score_given=float(event.levels_held),
                score_maximum=float(len(placement.levels)),
                comment=f"{verb}: {event.level.label} ({placement.version.title})",
                scored_at=now,
                next_attempt_at=now,
            )
        )


@dataclass(frozen=True)
class _Job:
    """What one score needs to be sent, read before any call goes out."""

    row_id: int
    platform: Platform
    line_item_url: str | None
    line_items_url: str | None
    link_id: int
    resource_link_id: str
    link_title: str
    user_id: str
    score_given: float
    score_maximum: float
    comment: str
    scored_at: dt.datetime


def deliver_scores(
    session: Session,
    client_for: Callable[[Platform], PlatformClient],
    *,
    limit: int = 200,
    lease_seconds: int = 120,
    now: dt.datetime | None = None,
) -> DeliveryReport:
    """Send due queued scores (only each learner's newest per link). A worker loop: it commits.

    No write transaction is open while the LMS is called (SQLite would block everyone, the LMS
    included when it shares the database, as the sandbox does): due rows are leased (their next
    attempt pushed `lease_seconds` ahead) and committed, sent, then their results committed. A
    worker that dies mid-way leaves leased rows that come due again. On PostgreSQL several workers
    can run at once: the claim skips rows another worker has locked.
    """
    now = now or utcnow()
    report = DeliveryReport()
    jobs = _claim(session, now, limit, lease_seconds, report)
    session.commit()
    outcomes: dict[int, tuple[str | None, PlatformServiceError | None]] = {}
    clients: dict[int, PlatformClient] = {}
    for job in jobs:
        try:
            if job.platform.id not in clients:
                clients[job.platform.id] = client_for(job.platform)
            outcomes[job.row_id] = (_send(clients[job.platform.id], job), None)
        except PlatformServiceError as error:
            outcomes[job.row_id] = (None, error)
    for job in jobs:
        row = session.get(ScoreOutbox, job.row_id)
        assert row is not None
        line_item_url, error = outcomes[job.row_id]
        if error is None:
            row.state, row.delivered_at, row.last_error = "delivered", utcnow(), None
            link = session.get(ResourceLink, job.link_id)
            if link is not None and line_item_url and not link.line_item_url:
                link.line_item_url = line_item_url
            report.delivered += 1
            continue
        row.attempts += 1
        row.last_error = str(error)[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "dead"
            report.dead += 1
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=BACKOFF.delay(row.attempts))
            report.retrying += 1
        log.warning("score %s not delivered (attempt %s): %s", row.id, row.attempts, error)
    session.commit()
    return report


def _claim(
    session: Session, now: dt.datetime, limit: int, lease_seconds: int, report: DeliveryReport
) -> list[_Job]:
    rows = list(
        session.scalars(
            select(ScoreOutbox)
            .where(ScoreOutbox.state == "queued", ScoreOutbox.next_attempt_at <= now)
            .order_by(ScoreOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    newest: dict[tuple[int, int], ScoreOutbox] = {}
    for row in rows:
        key = (row.resource_link_id, row.learner_id)
        older = newest.get(key)
        if older is not None:
            older.state, older.delivered_at = "superseded", now
            report.skipped += 1
        newest[key] = row
    jobs = []
    for row in newest.values():
        row.next_attempt_at = now + dt.timedelta(seconds=lease_seconds)
        link = session.get(ResourceLink, row.resource_link_id)
        learner = session.get(Person, row.learner_id)
        assert link is not None and learner is not None
        course = session.get(Course, link.course_id)
        assert course is not None
        platform = session.get(Platform, course.platform_id)
        assert platform is not None
        jobs.append(
            _Job(
                row_id=row.id,
                platform=platform,
                line_item_url=link.line_item_url,
                line_items_url=link.line_items_url,
                link_id=link.id,
                resource_link_id=link.resource_link_id,
                link_title=link.title,
                user_id=learner.sub,
                score_given=row.score_given,
                score_maximum=row.score_maximum,
                comment=row.comment,
                scored_at=row.scored_at,
            )
        )
    return jobs


def _send(client: PlatformClient, job: _Job) -> str:
    """Post one score (creating the line item if the LMS gave none); returns the line item URL."""
    line_item_url = job.line_item_url
    if not line_item_url:
        if not job.line_items_url:
            raise PlatformServiceError("the LMS gave this link no gradebook service")
        line_item_url = ags.find_or_create_line_item(
            client,
            {"lineitems": job.line_items_url, "scope": [claims.SCOPE_LINEITEM]},
            resource_link_id=job.resource_link_id,
            label=job.link_title or "Competency levels",
            score_maximum=job.score_maximum,
            resource_id=f"link-{job.link_id}",
        )
    ags.post_score(
        client,
        line_item_url,
        user_id=job.user_id,
        score_given=job.score_given,
        score_maximum=job.score_maximum,
        comment=job.comment,
        timestamp=job.scored_at,
    )
    return line_item_url
