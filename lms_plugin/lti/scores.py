"""Grade passback: a learner's score (levels achieved / levels in scope) is queued in the score
outbox whenever their levels change, and delivered to the LMS (AGS) after commit."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.assessment.models import Judgement
from lms_plugin.assessment.services import LevelEvent, Placement
from lms_plugin.lti import ags, claims
from lms_plugin.lti.models import Course, Person, Platform, ResourceLink, ScoreOutbox
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.orm import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 3600


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


@dataclass
class DeliveryReport:
    delivered: int = 0
    superseded: int = 0
    retrying: int = 0
    dead: int = 0


def deliver_scores(
    session: Session,
    client_for: Callable[[Platform], PlatformClient],
    *,
    limit: int = 200,
    now: dt.datetime | None = None,
) -> DeliveryReport:
    """Send due queued scores (only each learner's newest per link); flushes, caller commits.
    Several deliverers may run at once on PostgreSQL: rows are claimed with SKIP LOCKED."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(ScoreOutbox)
            .where(ScoreOutbox.state == "queued", ScoreOutbox.next_attempt_at <= now)
            .order_by(ScoreOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    report = DeliveryReport()
    newest: dict[tuple[int, int], ScoreOutbox] = {}
    for row in rows:
        key = (row.resource_link_id, row.learner_id)
        older = newest.get(key)
        if older is not None:
            older.state, older.delivered_at = "superseded", now
            report.superseded += 1
        newest[key] = row
    clients: dict[int, PlatformClient] = {}
    for row in newest.values():
        try:
            _send(session, row, client_for, clients)
        except PlatformServiceError as error:
            row.attempts += 1
            row.last_error = str(error)[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.state = "dead"
                report.dead += 1
            else:
                backoff = min(MAX_BACKOFF_SECONDS, 2**row.attempts)
                row.next_attempt_at = now + dt.timedelta(seconds=backoff * random.uniform(0.5, 1))  # noqa: S311
                report.retrying += 1
            log.warning("score %s not delivered (attempt %s): %s", row.id, row.attempts, error)
        else:
            row.state, row.delivered_at, row.last_error = "delivered", now, None
            report.delivered += 1
    session.flush()
    return report


def _send(
    session: Session,
    row: ScoreOutbox,
    client_for: Callable[[Platform], PlatformClient],
    clients: dict[int, PlatformClient],
) -> None:
    link = session.get(ResourceLink, row.resource_link_id)
    learner = session.get(Person, row.learner_id)
    assert link is not None and learner is not None
    course = session.get(Course, link.course_id)
    assert course is not None
    platform = session.get(Platform, course.platform_id)
    assert platform is not None
    if platform.id not in clients:
        clients[platform.id] = client_for(platform)
    client = clients[platform.id]
    if not link.line_item_url:
        if not link.line_items_url:
            raise PlatformServiceError("the LMS gave this link no gradebook service")
        link.line_item_url = ags.find_or_create_line_item(
            client,
            {"lineitems": link.line_items_url, "scope": [claims.SCOPE_LINEITEM]},
            resource_link_id=link.resource_link_id,
            label=link.title or "Competency levels",
            score_maximum=row.score_maximum,
            resource_id=f"link-{link.id}",
        )
    ags.post_score(
        client,
        link.line_item_url,
        user_id=learner.sub,
        score_given=row.score_given,
        score_maximum=row.score_maximum,
        comment=row.comment,
        timestamp=row.scored_at,
    )
