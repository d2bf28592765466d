"""Names and Role Provisioning Services 2.0: pull a course roster into enrollments.

Only course staff and learners are enrolled (by their context roles, as for a launch): mentors
and observers are left out, so they never appear in the grid as learners. A roster never demotes
someone whose own launch showed them as staff: Moodle's roster marks as Instructor only those who
may manage activities in the course, so it lists its non-editing teachers as learners, while
their launches (which check the activity's capability) say Instructor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Enrollment, Platform
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.lti.services import upsert_enrollment, upsert_person


def sync_roster(
    session: Session, client: PlatformClient, platform: Platform, course: Course, url: str
) -> int:
    """Add or refresh every active staff member and learner of the course; returns how many.
    Flushes."""
    count = 0
    for page in client.pages(url, [claims.SCOPE_NRPS], claims.MEDIA_MEMBERSHIP_CONTAINER):
        if not isinstance(page, Mapping) or not isinstance(page.get("members"), list):
            raise PlatformServiceError("the roster is not an NRPS membership container")
        for member in page["members"]:
            if not _active(member) or claims.course_role(member.get("roles", [])) is None:
                continue
            person = upsert_person(session, platform.issuer, member)
            if not _staff_by_launch(session, course, person.id):
                upsert_enrollment(session, course, person, member.get("roles", []), "nrps")
            count += 1
    session.flush()
    return count


def _staff_by_launch(session: Session, course: Course, person_id: int) -> bool:
    source = session.scalar(
        select(Enrollment.source).where(
            Enrollment.course_id == course.id,
            Enrollment.person_id == person_id,
            Enrollment.is_staff.is_(True),
        )
    )
    return source == "launch"


def _active(member: Any) -> bool:
    return (
        isinstance(member, Mapping)
        and isinstance(member.get("user_id"), str)
        and member.get("status", "Active") == "Active"
        and isinstance(member.get("roles", []), list)
    )
