"""Names and Role Provisioning Services 2.0: a course's roster, read by the worker.

A staff launch only asks for a sync (`request_sync`, a `RosterSync` row) and answers at once; the
worker (`sync_rosters`) leases due requests, follows the pages (`Link: <...>; rel="next"`, or the
body's `next` as some platforms send it) with no page cap, and commits each page's members before
asking for the next: no write transaction is open while the platform is called, memory is bounded
by one page, and a failure resumes at the page that failed (after a backoff). A pass reads at most
`PAGES_PER_PASS` pages of a course, so the other outboxes are not held up by a large course.

Only course staff and learners are enrolled (by their context roles, as for a launch): mentors
and observers are left out, so they never appear in the grid as learners. A roster never demotes
someone whose own launch showed them as staff: Moodle's roster marks as Instructor only those who
may manage activities in the course, so it lists its non-editing teachers as learners, while
their launches (which check the activity's capability) say Instructor. Nobody is removed when they
leave the roster: judgements refer to them, so they stay listed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Platform, RosterSync
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.lti.services import person_values, upsert_enrollments, upsert_people
from lms_plugin.orm import utcnow
from xapi.delivery import Backoff, DeliveryReport

log = logging.getLogger(__name__)
LEASE_SECONDS = 120  # a worker that dies mid-sync leaves a lease that ends after this
PAGES_PER_PASS = 20
RESYNC_AFTER = dt.timedelta(minutes=5)  # staff launches within this of a sync ask for none
MAX_ATTEMPTS = 10  # then the request is dropped (the error stays shown); the next launch asks again
BACKOFF = Backoff(base=30.0, cap=3600.0)
CHUNK = 500  # members written per statement (a platform may send its whole roster as one page)


@dataclass(frozen=True)
class RosterStatus:
    """What the grid says about its class list."""

    syncing: bool
    as_of: dt.datetime | None
    problem: str | None


def request_sync(
    session: Session, course_id: int, url: str, now: dt.datetime | None = None
) -> None:
    """Ask the worker to read the course's roster from `url`, unless a sync is already waiting or
    running or one finished less than `RESYNC_AFTER` ago. One statement; safe under concurrent
    launches."""
    now = now or utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    asked = {"url": url[:2048], "requested_at": now, "next_attempt_at": now}
    session.execute(
        insert(RosterSync)
        .values(course_id=course_id, **asked)
        .on_conflict_do_update(
            index_elements=[RosterSync.course_id],
            set_={**asked, "attempts": 0, "next_url": None},
            where=RosterSync.requested_at.is_(None)
            & (RosterSync.finished_at.is_(None) | (RosterSync.finished_at < now - RESYNC_AFTER)),
        )
    )


def status(session: Session, course_id: int) -> RosterStatus | None:
    """The course's roster sync as the grid shows it; None if no roster was ever asked for."""
    row = session.get(RosterSync, course_id)
    if row is None:
        return None
    return RosterStatus(
        syncing=row.requested_at is not None,
        as_of=row.finished_at,
        problem=row.error if row.attempts else None,
    )


def sync_rosters(
    session: Session,
    client_for: Callable[[Platform], PlatformClient],
    *,
    limit: int = 5,
    now: dt.datetime | None = None,
) -> DeliveryReport:
    """One worker pass: read up to `PAGES_PER_PASS` pages of each due course. It commits.
    `delivered` counts the pages read."""
    report = DeliveryReport()
    lease_id, course_ids = _claim(session, now or utcnow(), limit)
    for course_id in course_ids:
        try:
            _sync(session, client_for, course_id, lease_id, report)
        except PlatformServiceError as error:
            session.rollback()
            _failed(session, course_id, lease_id, error, now or utcnow(), report)
            session.commit()
    return report


def _claim(session: Session, now: dt.datetime, limit: int) -> tuple[str, list[int]]:
    """Lease due requests in one statement (on PostgreSQL skipping rows another worker holds),
    committed."""
    lease_id = str(uuid.uuid4())
    due = (
        select(RosterSync.course_id)
        .where(RosterSync.requested_at.is_not(None), RosterSync.next_attempt_at <= now)
        .order_by(RosterSync.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(RosterSync)
        .where(RosterSync.course_id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS), lease_id=lease_id)
        .returning(RosterSync.course_id)
        .execution_options(synchronize_session=False)
    )
    try:
        claimed = sorted(session.scalars(claim))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return lease_id, claimed


def _sync(
    session: Session,
    client_for: Callable[[Platform], PlatformClient],
    course_id: int,
    lease: str,
    report: DeliveryReport,
) -> None:
    """Read pages of one leased course, each committed and counted in `report.delivered`."""
    row = session.get(RosterSync, course_id, populate_existing=True)
    course = session.get(Course, course_id)
    assert row is not None and course is not None
    platform = session.get(Platform, course.platform_id)
    assert platform is not None
    if row.next_url is None:  # a new run, not a resumed one
        row.started_at, row.pages, row.members = utcnow(), 0, 0
    url = row.next_url or row.url
    client = client_for(platform)
    session.commit()  # nothing stays open while the platform is called
    for _ in range(PAGES_PER_PASS):
        body, next_url = client.get_json(
            url, [claims.SCOPE_NRPS], claims.MEDIA_MEMBERSHIP_CONTAINER
        )
        members = _members(body)
        if next_url is None and isinstance(body.get("next"), str) and body["next"]:
            next_url = body["next"]
        if next_url == url:
            raise PlatformServiceError(f"{url} names itself as the roster's next page")
        count = _upsert_members(session, platform.issuer, course_id, members)
        if not _record_page(session, course_id, lease, next_url, count):
            session.rollback()  # the lease ended and another worker took over
            return
        session.commit()
        report.delivered += 1
        if next_url is None:
            log.info("roster of course %s synced", course_id)
            return
        url = next_url
    session.execute(  # more to read: due again at once, after the other outboxes' turn
        update(RosterSync)
        .where(RosterSync.course_id == course_id, RosterSync.lease_id == lease)
        .values(next_attempt_at=utcnow(), lease_id=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _members(body: Any) -> list[Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get("members"), list):
        raise PlatformServiceError("the roster is not an NRPS membership container")
    return body["members"]


def _record_page(
    session: Session, course_id: int, lease: str, next_url: str | None, count: int
) -> bool:
    """Count a page and move on (or finish); False if the lease is no longer ours."""
    now = utcnow()
    values: dict[str, Any] = {
        "next_url": next_url[:2048] if next_url else None,
        "pages": RosterSync.pages + 1,
        "members": RosterSync.members + count,
        "next_attempt_at": now + dt.timedelta(seconds=LEASE_SECONDS),
    }
    if next_url is None:
        values.update(
            requested_at=None,
            finished_at=now,
            attempts=0,
            error=None,
            lease_id=None,
            next_attempt_at=now,
        )
    done = session.execute(
        update(RosterSync)
        .where(RosterSync.course_id == course_id, RosterSync.lease_id == lease)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _failed(
    session: Session,
    course_id: int,
    lease: str,
    error: PlatformServiceError,
    now: dt.datetime,
    report: DeliveryReport,
) -> None:
    """Record the error; retry from the failed page after a backoff, or give up."""
    row = session.get(RosterSync, course_id, with_for_update=True, populate_existing=True)
    if row is None or row.lease_id != lease:
        return
    row.attempts += 1
    row.error = str(error)[:2000]
    row.lease_id = None
    if row.attempts >= MAX_ATTEMPTS:
        row.requested_at, row.next_url = None, None
        report.dead += 1
    else:
        row.next_attempt_at = now + dt.timedelta(seconds=BACKOFF.delay(row.attempts))
        report.retrying += 1
    log.warning("roster sync of course %s failed (attempt %s): %s", course_id, row.attempts, error)


def _upsert_members(session: Session, issuer: str, course_id: int, members: Sequence[Any]) -> int:
    """Add or refresh every active staff member and learner of one page, two statements per
    `CHUNK` members (people, then enrollments); returns how many."""
    wanted: dict[str, Mapping[str, Any]] = {}
    for member in members:
        if _active(member) and claims.course_role(member.get("roles", [])) is not None:
            wanted[member["user_id"].strip()[:255]] = member
    wanted.pop("", None)
    subs = list(wanted)
    for start in range(0, len(subs), CHUNK):
        chunk = subs[start : start + CHUNK]
        ids = upsert_people(session, [person_values(issuer, sub, wanted[sub]) for sub in chunk])
        roles = [
            (ids[sub], [r for r in wanted[sub].get("roles", []) if isinstance(r, str)])
            for sub in chunk
        ]
        upsert_enrollments(session, course_id, roles, "nrps")
    return len(wanted)


def _active(member: Any) -> bool:
    return (
        isinstance(member, Mapping)
        and isinstance(member.get("user_id"), str)
        and member.get("status", "Active") == "Active"
        and isinstance(member.get("roles", []), list)
    )
