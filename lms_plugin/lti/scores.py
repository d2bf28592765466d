"""Grade passback: a learner's score (levels achieved / levels in scope) is queued in the score
outbox whenever their levels change, and delivered to the LMS (AGS) after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.lti import ags, claims
from lms_plugin.lti.deep_linking import line_item_resource_id
from lms_plugin.lti.models import (
    DONE_SCORE_STATES,
    Course,
    Person,
    Platform,
    ResourceLink,
    ScoreOutbox,
)
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.orm import delete_by_id, is_state, utcnow
from xapi.delivery import Backoff, DeliveryReport

if TYPE_CHECKING:
    from lms_plugin.assessment.services import LevelEvent, Placement, RecordedJudgement

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BACKOFF = Backoff(base=2.0, cap=3600.0)  # attempt n waits up to 2**n s, at most an hour
ONE_SECOND = dt.timedelta(seconds=1)
STATUS_STATES = ("queued", "delivered", "dead")


class ScorePassback:
    """Assessment listener: queue the learner's new score on every level change."""

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[RecordedJudgement]
    ) -> None:
        """Scores follow levels, not single judgements."""

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        self.levels_changed(session, placement, [event])

    def levels_changed(
        self, session: Session, placement: Placement, events: Sequence[LevelEvent]
    ) -> None:
        """One score row per level change, all in one INSERT."""
        maximum = float(len(placement.levels))
        title = placement.version.title
        rows = [
            {
                "resource_link_id": placement.link.id,
                "learner_id": event.learner_id,
                "score_given": float(event.levels_held),
                "score_maximum": maximum,
                "comment": f"{_VERBS[event.kind]}: {event.level.label} ({title})",
                "scored_at": event.at,
                "next_attempt_at": event.at,
            }
            for event in events
        ]
        if rows:
            session.execute(ScoreOutbox.__table__.insert(), rows)


_VERBS = {"achieved": "Achieved", "withdrawn": "Withdrawn"}


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
    resource_id: str
    user_id: str
    score_given: float
    score_maximum: float
    comment: str
    timestamp: dt.datetime


@dataclass
class _Outcome:
    sent_timestamp: dt.datetime | None = None
    error: PlatformServiceError | None = None


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
    outcomes: dict[int, _Outcome] = {}
    line_items: dict[int, str] = {}  # link -> line item found or made in this pass
    clients: dict[int, PlatformClient] = {}
    for job in jobs:
        try:
            if job.platform.id not in clients:
                clients[job.platform.id] = client_for(job.platform)
            sent = _send(clients[job.platform.id], job, line_items)
            outcomes[job.row_id] = _Outcome(sent_timestamp=sent)
        except PlatformServiceError as error:
            outcomes[job.row_id] = _Outcome(error=error)
    for link_id, line_item_url in line_items.items():
        link = session.get(ResourceLink, link_id)
        if link is not None and not link.line_item_url:
            link.line_item_url = line_item_url
    for job in jobs:
        row = session.get(ScoreOutbox, job.row_id)
        assert row is not None
        _settle(session, row, outcomes[job.row_id], now, report)
    session.commit()
    return report


def _settle(
    session: Session, row: ScoreOutbox, outcome: _Outcome, now: dt.datetime, report: DeliveryReport
) -> None:
    """Record what became of one score: delivered, superseded by a newer one queued meanwhile,
    retried later, or dead."""
    if outcome.error is None:
        row.state, row.delivered_at, row.last_error = "delivered", utcnow(), None
        row.sent_timestamp = outcome.sent_timestamp
        report.delivered += 1
        return
    row.attempts += 1
    row.last_error = str(outcome.error)[:2000]
    if _newer_exists(session, row):
        row.state, row.delivered_at = "superseded", now
        report.skipped += 1
    elif row.attempts >= MAX_ATTEMPTS:
        row.state = "dead"
        report.dead += 1
    else:
        row.next_attempt_at = now + dt.timedelta(seconds=BACKOFF.delay(row.attempts))
        report.retrying += 1
    log.warning("score %s not delivered (attempt %s): %s", row.id, row.attempts, outcome.error)


def _claim(
    session: Session, now: dt.datetime, limit: int, lease_seconds: int, report: DeliveryReport
) -> list[_Job]:
    rows = list(
        session.scalars(
            select(ScoreOutbox)
            .where(is_state(ScoreOutbox.state, "queued"), ScoreOutbox.next_attempt_at <= now)
            .order_by(ScoreOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    newest = _newest_ids(session, rows)
    jobs = []
    for row in rows:
        if newest[(row.resource_link_id, row.learner_id)] != row.id:
            # a newer score for this learner and link exists (queued, waiting or sent): this one
            # must never reach the gradebook after it
            row.state, row.delivered_at = "superseded", now
            report.skipped += 1
            continue
        row.next_attempt_at = now + dt.timedelta(seconds=lease_seconds)
        jobs.append(_job(session, row))
    return jobs


def _job(session: Session, row: ScoreOutbox) -> _Job:
    link = session.get(ResourceLink, row.resource_link_id)
    learner = session.get(Person, row.learner_id)
    assert link is not None and learner is not None
    course = session.get(Course, link.course_id)
    assert course is not None
    platform = session.get(Platform, course.platform_id)
    assert platform is not None
    version = (
        session.get(FrameworkVersion, link.framework_version_id)
        if link.framework_version_id is not None
        else None
    )
    return _Job(
        row_id=row.id,
        platform=platform,
        line_item_url=link.line_item_url,
        line_items_url=link.line_items_url,
        link_id=link.id,
        resource_link_id=link.resource_link_id,
        link_title=link.title,
        resource_id=line_item_resource_id(version, link.level_keys)
        if version is not None
        else f"link-{link.id}",
        user_id=learner.sub,
        score_given=row.score_given,
        score_maximum=row.score_maximum,
        comment=row.comment,
        timestamp=_timestamp(session, row),
    )


def _newest_ids(session: Session, rows: Sequence[ScoreOutbox]) -> dict[tuple[int, int], int]:
    """The newest outbox row, in any state, of each (link, learner) among `rows`."""
    if not rows:
        return {}
    keys = {(row.resource_link_id, row.learner_id) for row in rows}
    found = session.execute(
        select(ScoreOutbox.resource_link_id, ScoreOutbox.learner_id, func.max(ScoreOutbox.id))
        .where(
            ScoreOutbox.resource_link_id.in_({link for link, _ in keys}),
            ScoreOutbox.learner_id.in_({learner for _, learner in keys}),
        )
        .group_by(ScoreOutbox.resource_link_id, ScoreOutbox.learner_id)
    )
    return {(link, learner): newest for link, learner, newest in found if (link, learner) in keys}


def _newer_exists(session: Session, row: ScoreOutbox) -> bool:
    newer = select(ScoreOutbox.id).where(
        ScoreOutbox.resource_link_id == row.resource_link_id,
        ScoreOutbox.learner_id == row.learner_id,
        ScoreOutbox.id > row.id,
    )
    return session.scalar(newer.limit(1)) is not None


def _timestamp(session: Session, row: ScoreOutbox) -> dt.datetime:
    """The timestamp to send: when the score was made, in whole seconds, and at least a second
    after the last one the platform accepted for this learner and link (Moodle refuses, with 409,
    a timestamp not later than the stored grade's in whole seconds; Canvas one earlier)."""
    made = _whole_seconds(row.scored_at)
    last = session.scalar(
        select(func.max(ScoreOutbox.sent_timestamp)).where(
            ScoreOutbox.resource_link_id == row.resource_link_id,
            ScoreOutbox.learner_id == row.learner_id,
            ScoreOutbox.state == "delivered",
        )
    )
    if last is None:
        return made
    return max(made, _whole_seconds(last) + ONE_SECOND)


def _whole_seconds(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _send(client: PlatformClient, job: _Job, line_items: dict[int, str]) -> dt.datetime:
    """Post one score (finding or creating the line item if the LMS gave none); returns the
    timestamp the platform accepted. A 409 (the platform holds a grade as new or newer) is
    answered once with a timestamp after now; a newer score, if one is queued, wins anyway."""
    line_item_url = job.line_item_url or line_items.get(job.link_id)
    if not line_item_url:
        if not job.line_items_url:
            raise PlatformServiceError("the LMS gave this link no gradebook service")
        line_item_url = ags.find_or_create_line_item(
            client,
            {"lineitems": job.line_items_url, "scope": [claims.SCOPE_LINEITEM]},
            resource_link_id=job.resource_link_id,
            label=job.link_title or "Competency levels",
            score_maximum=job.score_maximum,
            resource_id=job.resource_id,
        )
        line_items[job.link_id] = line_item_url
    timestamp = job.timestamp
    try:
        _post(client, line_item_url, job, timestamp)
    except PlatformServiceError as error:
        if error.status != 409:
            raise
        timestamp = max(timestamp, _whole_seconds(utcnow())) + ONE_SECOND
        _post(client, line_item_url, job, timestamp)
    return timestamp


def _post(client: PlatformClient, line_item_url: str, job: _Job, timestamp: dt.datetime) -> None:
    ags.post_score(
        client,
        line_item_url,
        user_id=job.user_id,
        score_given=job.score_given,
        score_maximum=job.score_maximum,
        comment=job.comment,
        timestamp=timestamp,
    )


def score_counts(session: Session) -> dict[str, int]:
    """How many scores are queued, delivered and dead (`lms-plugin scores status`), each read
    from its state's partial index."""
    found = {}
    for state in STATUS_STATES:
        where = is_state(ScoreOutbox.state, state)
        if state in DONE_SCORE_STATES:  # SQLite uses that index only if its condition is named
            where = and_(is_state(ScoreOutbox.state, *DONE_SCORE_STATES), where)
        found[state] = int(session.scalar(select(func.count()).where(where)) or 0)
    return found


def purge_scores(session: Session, before: dt.datetime, limit: int) -> int:
    """Delete up to `limit` scores delivered (or superseded) before `before`; returns how many.
    A score is kept while an older one of its learner and link is still queued: the newest row
    is what stops that older one from reaching the gradebook. Flushes; the caller commits."""
    older = aliased(ScoreOutbox)
    still_queued = (
        select(older.id)
        .where(
            is_state(older.state, "queued"),
            older.resource_link_id == ScoreOutbox.resource_link_id,
            older.learner_id == ScoreOutbox.learner_id,
            older.id < ScoreOutbox.id,
        )
        .exists()
    )
    ids = list(
        session.scalars(
            select(ScoreOutbox.id)
            .where(
                is_state(ScoreOutbox.state, *DONE_SCORE_STATES),
                ScoreOutbox.delivered_at < before,
                ~still_queued,
            )
            .order_by(ScoreOutbox.state, ScoreOutbox.delivered_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return delete_by_id(session, ScoreOutbox, ids)
