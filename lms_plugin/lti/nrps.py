"""Names and Role Provisioning Services 2.0: pull a course roster into enrollments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lms_plugin.lti import claims
from lms_plugin.lti.models import Course, Platform
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError
from lms_plugin.lti.services import upsert_enrollment, upsert_person


def sync_roster(
    session: Session, client: PlatformClient, platform: Platform, course: Course, url: str
) -> int:
    """Add or refresh every active member of the course; returns how many. Flushes."""
    count = 0
    for page in client.pages(url, [claims.SCOPE_NRPS], claims.MEDIA_MEMBERSHIP_CONTAINER):
        if not isinstance(page, Mapping) or not isinstance(page.get("members"), list):
            raise PlatformServiceError("the roster is not an NRPS membership container")
        for member in page["members"]:
            if _active(member):
                person = upsert_person(session, platform.issuer, member)
                upsert_enrollment(session, course, person, member.get("roles", []), "nrps")
                count += 1
    session.flush()
    return count


def _active(member: Any) -> bool:
    return (
        isinstance(member, Mapping)
        and isinstance(member.get("user_id"), str)
        and member.get("status", "Active") == "Active"
        and isinstance(member.get("roles", []), list)
    )
