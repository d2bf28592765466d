"""Evidence learners submit for a statement of their placement (a link and a note), for their
evaluators to look at. Submissions are kept for good (history); one is "waiting" until a judgement
of its cell (learner x statement) is recorded after it.

A submission notes the cell's latest judgement when it is recorded (`last_judgement_id`), under
the same per-learner lock as judging (`services.lock_learners`), so a judgement is either before
the submission or after it, never both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.assessment.models import EvidenceSubmission, Judgement
from lms_plugin.assessment.services import MAX_URL, Placement, lock_learners, web_link
from lms_plugin.lti import rate_limit
from lms_plugin.lti.models import Enrollment
from lms_plugin.orm import utcnow
from lms_plugin.strict_json import CONTROL_OR_LONE_SURROGATE

MAX_NOTE = 2000
SUBMISSIONS = rate_limit.Limit("evidence-submissions", 60, 3600)
"""Per learner: enough for a whole level in one sitting, not enough to fill the database."""


class EvidenceError(ValueError):
    """The link or note cannot be used: `errors` maps each field ("url", "note") to a message in
    plain words for the learner."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class NotYours(PermissionError):
    """The statement is not in this activity, or the person is not a learner of its course."""


class TooMany(Exception):
    """The learner has used `SUBMISSIONS` up for now."""


@dataclass(frozen=True)
class Cleaned:
    url: str
    note: str | None


def clean(url: str, note: str | None) -> Cleaned:
    """The link and note as they will be kept (trimmed; an empty note is none), or EvidenceError
    naming every field that cannot be used."""
    errors: dict[str, str] = {}
    url = url.strip()
    if not url:
        errors["url"] = "Give the link to your evidence."
    elif len(url) > MAX_URL:
        errors["url"] = f"This link is too long: at most {MAX_URL:,} characters."
    elif not web_link(url):
        errors["url"] = "Give a web link that starts with https:// or http://."
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        errors["note"] = f"This note is too long: at most {MAX_NOTE:,} characters."
    elif note is not None and CONTROL_OR_LONE_SURROGATE.search(note):
        errors["note"] = "This note contains characters that cannot be kept: type it again."
    if errors:
        raise EvidenceError(errors)
    return Cleaned(url, note)


def submit(
    session: Session,
    placement: Placement,
    learner_id: int,
    statement_id: int,
    url: str,
    note: str | None,
    now: dt.datetime | None = None,
) -> EvidenceSubmission:
    """Record a learner's evidence for a statement of the placement. Raises NotYours,
    EvidenceError (nothing recorded) or TooMany. Flushes; the caller commits."""
    if statement_id not in placement.statements or not _is_learner(
        session, placement.link.course_id, learner_id
    ):
        raise NotYours("Learners submit evidence only for statements of their own activity.")
    cleaned = clean(url, note)
    lock_learners(session, placement.link.id, [learner_id])
    if not rate_limit.allow(session, SUBMISSIONS, learner_id):
        raise TooMany(SUBMISSIONS.message())
    last = session.scalar(
        select(func.max(Judgement.id)).where(
            Judgement.resource_link_id == placement.link.id,
            Judgement.learner_id == learner_id,
            Judgement.statement_id == statement_id,
        )
    )
    submission = EvidenceSubmission(
        resource_link_id=placement.link.id,
        learner_id=learner_id,
        statement_id=statement_id,
        url=cleaned.url,
        note=cleaned.note,
        submitted_at=now or utcnow(),
        last_judgement_id=last,
    )
    session.add(submission)
    session.flush()
    return submission


def _is_learner(session: Session, course_id: int, person_id: int) -> bool:
    return (
        session.scalar(
            select(Enrollment.id).where(
                Enrollment.course_id == course_id,
                Enrollment.person_id == person_id,
                Enrollment.is_staff.is_(False),
            )
        )
        is not None
    )
