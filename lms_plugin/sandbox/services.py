"""The LTI Advantage services of the sandbox: NRPS 2.0 memberships and AGS 2.0 line items,
scores and results. Each function takes the session and plain values and returns what the
endpoint answers as JSON, or raises ServiceError."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.sandbox.constants import ROLE_URIS, SandboxUrls
from lms_plugin.sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxMembership,
    SandboxResourceLink,
    SandboxScore,
    SandboxUser,
)
from lms_plugin.sandbox.tokens import ServiceError

MAX_LIMIT = 1000
MAX_TEXT = 500
MAX_COMMENT = 10_000
ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")


@dataclass(frozen=True)
class Page:
    """One page of a container: the answer body and, when there is more, the `next` URL."""

    body: dict[str, Any] | list[Any]
    next_url: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Link": f'<{self.next_url}>; rel="next"'} if self.next_url else {}


def find_course(session: Session, context_id: str) -> SandboxCourse:
    course = session.scalar(select(SandboxCourse).where(SandboxCourse.context_id == context_id))
    if course is None:
        raise ServiceError(404, f"no course {context_id!r} in the sandbox")
    return course


def _int_param(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError(400, f"{name} must be a positive integer") from None
    if value < 1:
        raise ServiceError(400, f"{name} must be a positive integer")
    return value


def _paginate(
    items: Sequence[Any], base: str, query: Mapping[str, str]
) -> tuple[Sequence[Any], str | None]:
    limit = _int_param(query, "limit", None)
    if limit is None:
        return items, None
    limit = min(limit, MAX_LIMIT)
    page = _int_param(query, "page", 1) or 1
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    if start + limit >= len(items):
        return chunk, None
    following = {key: value for key, value in query.items() if key != "page"}
    following["page"] = str(page + 1)
    return chunk, f"{base}?{urlencode(following)}"


# --- Names and Role Provisioning Services 2.0 ------------------------------------------------


def memberships(
    session: Session, urls: SandboxUrls, context_id: str, query: Mapping[str, str]
) -> Page:
    """The course roster, filtered by `role` and `rlid`, paged by `limit`/`page`."""
    course = find_course(session, context_id)
    rlid = query.get("rlid")
    if rlid is not None and (
        session.scalar(
            select(SandboxResourceLink.id).where(
                SandboxResourceLink.course_id == course.id,
                SandboxResourceLink.resource_link_id == rlid,
            )
        )
        is None
    ):
        raise ServiceError(403, "that resource link is not in this course")
    rows = session.execute(
        select(SandboxMembership.role, SandboxUser)
        .join(SandboxUser, SandboxUser.id == SandboxMembership.user_id)
        .where(SandboxMembership.course_id == course.id)
        .order_by(SandboxMembership.id)
    ).all()
    role = query.get("role")
    members = []
    for member_role, user in rows:
        roles = ROLE_URIS[member_role]
        if role and role not in roles and not any(uri.endswith("#" + role) for uri in roles):
            continue
        members.append(
            {
                "status": "Active",
                "name": user.name,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "email": user.email,
                "user_id": user.user_id,
                "roles": list(roles),
            }
        )
    url = urls.memberships(course.context_id)
    chunk, next_url = _paginate(members, url, query)
    body = {
        "id": f"{url}?{urlencode(query)}" if query else url,
        "context": {"id": course.context_id, "label": course.label, "title": course.title},
        "members": list(chunk),
    }
    return Page(body, next_url)


# --- Assignment and Grade Services 2.0: line items -------------------------------------------


def lineitem_json(
    urls: SandboxUrls, course: SandboxCourse, item: SandboxLineItem
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": urls.lineitem(course.context_id, item.id),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    if item.resource_link is not None:
        body["resourceLinkId"] = item.resource_link.resource_link_id
    if item.resource_id is not None:
        body["resourceId"] = item.resource_id
    if item.tag is not None:
        body["tag"] = item.tag
    if item.start_date_time is not None:
        body["startDateTime"] = item.start_date_time.isoformat()
    if item.end_date_time is not None:
        body["endDateTime"] = item.end_date_time.isoformat()
    return body


def parse_timestamp(value: Any, name: str) -> dt.datetime:
    """An ISO 8601 date-time with a time zone, as an aware UTC datetime."""
    if not isinstance(value, str) or "T" not in value or len(value) > 64:
        raise ServiceError(400, f"{name} must be an ISO 8601 date-time with a time zone")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ServiceError(400, f"{name} must be an ISO 8601 date-time with a time zone") from None
    if parsed.tzinfo is None:
        raise ServiceError(400, f"{name} must include a time zone (e.g. Z or +00:00)")
    return parsed.astimezone(dt.UTC)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_text(body: Mapping[str, Any], name: str, limit: int = 255) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ServiceError(400, f"{name} must be a string of at most {limit} characters")
    return value


def find_link_in(session: Session, course: SandboxCourse, link_id: str) -> SandboxResourceLink:
    link = session.scalar(
        select(SandboxResourceLink).where(
            SandboxResourceLink.course_id == course.id,
            SandboxResourceLink.resource_link_id == link_id,
        )
    )
    if link is None:
        raise ServiceError(400, f"resourceLinkId {link_id!r} is not a resource link of this course")
    return link


def _apply_lineitem(
    session: Session, course: SandboxCourse, item: SandboxLineItem, body: Any
) -> None:
    if not isinstance(body, dict):
        raise ServiceError(400, "the line item must be a JSON object")
    label = body.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_TEXT:
        raise ServiceError(400, f"label is required: a non-empty string of at most {MAX_TEXT}")
    maximum = body.get("scoreMaximum")
    if not is_number(maximum) or maximum <= 0:
        raise ServiceError(400, "scoreMaximum is required: a number greater than 0")
    link_id = body.get("resourceLinkId")
    if link_id is not None and not isinstance(link_id, str):
        raise ServiceError(400, "resourceLinkId must be a string")
    start = body.get("startDateTime")
    end = body.get("endDateTime")
    item.label = label
    item.score_maximum = float(maximum)
    item.resource_id = _optional_text(body, "resourceId")
    item.tag = _optional_text(body, "tag")
    item.resource_link = find_link_in(session, course, link_id) if link_id else None
    item.start_date_time = parse_timestamp(start, "startDateTime") if start is not None else None
    item.end_date_time = parse_timestamp(end, "endDateTime") if end is not None else None
    if item.start_date_time and item.end_date_time and item.end_date_time < item.start_date_time:
        raise ServiceError(400, "endDateTime is before startDateTime")


def list_lineitems(
    session: Session, urls: SandboxUrls, context_id: str, query: Mapping[str, str]
) -> Page:
    course = find_course(session, context_id)
    statement = select(SandboxLineItem).where(SandboxLineItem.course_id == course.id)
    if "resource_link_id" in query:
        statement = statement.join(
            SandboxResourceLink, SandboxResourceLink.id == SandboxLineItem.resource_link_id
        ).where(SandboxResourceLink.resource_link_id == query["resource_link_id"])
    if "resource_id" in query:
        statement = statement.where(SandboxLineItem.resource_id == query["resource_id"])
    if "tag" in query:
        statement = statement.where(SandboxLineItem.tag == query["tag"])
    items = session.scalars(statement.order_by(SandboxLineItem.id)).all()
    chunk, next_url = _paginate(items, urls.lineitems(course.context_id), query)
    return Page([lineitem_json(urls, course, item) for item in chunk], next_url)


def create_lineitem(
    session: Session, urls: SandboxUrls, context_id: str, body: Any
) -> dict[str, Any]:
    course = find_course(session, context_id)
    item = SandboxLineItem(course_id=course.id)
    _apply_lineitem(session, course, item, body)
    session.add(item)
    session.flush()
    return lineitem_json(urls, course, item)


def find_lineitem(
    session: Session, context_id: str, line_item_id: int
) -> tuple[SandboxCourse, SandboxLineItem]:
    course = find_course(session, context_id)
    item = session.get(SandboxLineItem, line_item_id)
    if item is None or item.course_id != course.id:
        raise ServiceError(404, f"no line item {line_item_id} in this course")
    return course, item


def get_lineitem(
    session: Session, urls: SandboxUrls, context_id: str, line_item_id: int
) -> dict[str, Any]:
    course, item = find_lineitem(session, context_id, line_item_id)
    return lineitem_json(urls, course, item)


def update_lineitem(
    session: Session, urls: SandboxUrls, context_id: str, line_item_id: int, body: Any
) -> dict[str, Any]:
    course, item = find_lineitem(session, context_id, line_item_id)
    if isinstance(body, dict) and "id" in body and body["id"] != urls.lineitem(context_id, item.id):
        raise ServiceError(400, "id does not match the line item URL")
    _apply_lineitem(session, course, item, body)
    session.flush()
    return lineitem_json(urls, course, item)


def delete_lineitem(session: Session, context_id: str, line_item_id: int) -> None:
    _course, item = find_lineitem(session, context_id, line_item_id)
    session.delete(item)
    session.flush()


# --- Assignment and Grade Services 2.0: scores and results ------------------------------------


def _member(session: Session, course: SandboxCourse, user_id: Any) -> SandboxUser:
    if not isinstance(user_id, str) or not user_id:
        raise ServiceError(400, "userId is required")
    user = session.scalar(
        select(SandboxUser)
        .join(SandboxMembership, SandboxMembership.user_id == SandboxUser.id)
        .where(SandboxMembership.course_id == course.id, SandboxUser.user_id == user_id)
    )
    if user is None:
        raise ServiceError(400, f"userId {user_id!r} is not a member of this course")
    return user


def latest_score(session: Session, item_id: int, user_id: int) -> SandboxScore | None:
    return session.scalar(
        select(SandboxScore)
        .where(SandboxScore.line_item_id == item_id, SandboxScore.user_id == user_id)
        .order_by(SandboxScore.timestamp.desc(), SandboxScore.id.desc())
        .limit(1)
    )


def post_score(
    session: Session, urls: SandboxUrls, context_id: str, line_item_id: int, body: Any
) -> dict[str, Any]:
    """Record a score (AGS 2.0 section 3.4). A score older than the user's newest is refused
    with 409; the same score sent again (same timestamp, same values) is accepted once."""
    course, item = find_lineitem(session, context_id, line_item_id)
    if not isinstance(body, dict):
        raise ServiceError(400, "the score must be a JSON object")
    user = _member(session, course, body.get("userId"))
    given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
    if given is not None:
        if not is_number(given) or given < 0:
            raise ServiceError(400, "scoreGiven must be a number of at least 0")
        if maximum is None:
            raise ServiceError(400, "scoreMaximum is required with scoreGiven")
    if maximum is not None and (not is_number(maximum) or maximum <= 0):
        raise ServiceError(400, "scoreMaximum must be a number greater than 0")
    activity, grading = body.get("activityProgress"), body.get("gradingProgress")
    if activity not in ACTIVITY_PROGRESS:
        raise ServiceError(400, "activityProgress must be one of " + ", ".join(ACTIVITY_PROGRESS))
    if grading not in GRADING_PROGRESS:
        raise ServiceError(400, "gradingProgress must be one of " + ", ".join(GRADING_PROGRESS))
    comment = _optional_text(body, "comment", MAX_COMMENT)
    timestamp = parse_timestamp(body.get("timestamp"), "timestamp")

    score = SandboxScore(
        line_item_id=item.id,
        user_id=user.id,
        score_given=float(given) if given is not None else None,
        score_maximum=float(maximum) if maximum is not None else None,
        comment=comment,
        activity_progress=activity,
        grading_progress=grading,
        timestamp=timestamp,
    )
    result_url = (
        f"{urls.lineitem(context_id, item.id)}/results?{urlencode({'user_id': user.user_id})}"
    )
    previous = latest_score(session, item.id, user.id)
    if previous is not None and timestamp <= previous.timestamp:
        if timestamp == previous.timestamp and _same(previous, score):
            return {"resultUrl": result_url}
        raise ServiceError(
            409,
            f"a score with timestamp {previous.timestamp.isoformat()} is already recorded "
            "for this user; scores must come with a later timestamp",
        )
    session.add(score)
    session.flush()
    return {"resultUrl": result_url}


def _same(a: SandboxScore, b: SandboxScore) -> bool:
    fields = (
        "score_given",
        "score_maximum",
        "comment",
        "activity_progress",
        "grading_progress",
    )
    return all(getattr(a, name) == getattr(b, name) for name in fields)


def results(
    session: Session,
    urls: SandboxUrls,
    context_id: str,
    line_item_id: int,
    query: Mapping[str, str],
) -> Page:
    """Each user's current result (their newest score, scaled to the line item's maximum)."""
    course, item = find_lineitem(session, context_id, line_item_id)
    newest = (
        select(
            SandboxScore.user_id,
            func.max(SandboxScore.id).label("score_id"),
        )
        .where(SandboxScore.line_item_id == item.id)
        .group_by(SandboxScore.user_id)
        .subquery()
    )
    statement = (
        select(SandboxScore)
        .join(newest, newest.c.score_id == SandboxScore.id)
        .join(SandboxUser, SandboxUser.id == SandboxScore.user_id)
        .order_by(SandboxUser.id)
    )
    if "user_id" in query:
        statement = statement.where(SandboxUser.user_id == query["user_id"])
    line_item_url = urls.lineitem(course.context_id, item.id)
    answer = []
    for score in session.scalars(statement):
        entry: dict[str, Any] = {
            "id": f"{line_item_url}/results?{urlencode({'user_id': score.user.user_id})}",
            "scoreOf": line_item_url,
            "userId": score.user.user_id,
        }
        if score.score_given is not None and score.score_maximum:
            scaled = score.score_given / score.score_maximum * item.score_maximum
            entry["resultScore"] = round(scaled, 6)
            entry["resultMaximum"] = item.score_maximum
        if score.comment:
            entry["comment"] = score.comment
        answer.append(entry)
    chunk, next_url = _paginate(answer, f"{line_item_url}/results", query)
    return Page(list(chunk), next_url)


# --- The course page -------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItemView:
    item: SandboxLineItem
    scores: list[SandboxScore]


@dataclass(frozen=True)
class CourseOverview:
    course: SandboxCourse
    members: list[SandboxMembership]
    links: list[SandboxResourceLink]
    line_items: list[LineItemView]


def course_overview(session: Session, context_id: str) -> CourseOverview:
    """Everything the sandbox course page shows: roster, links, line items, every score."""
    course = find_course(session, context_id)
    members = session.scalars(
        select(SandboxMembership)
        .where(SandboxMembership.course_id == course.id)
        .order_by(SandboxMembership.id)
    ).all()
    links = session.scalars(
        select(SandboxResourceLink)
        .where(SandboxResourceLink.course_id == course.id)
        .order_by(SandboxResourceLink.id)
    ).all()
    items = session.scalars(
        select(SandboxLineItem)
        .where(SandboxLineItem.course_id == course.id)
        .order_by(SandboxLineItem.id)
    ).all()
    views = []
    for item in items:
        scores = session.scalars(
            select(SandboxScore)
            .where(SandboxScore.line_item_id == item.id)
            .order_by(SandboxScore.timestamp.desc(), SandboxScore.id.desc())
        ).all()
        views.append(LineItemView(item, list(scores)))
    return CourseOverview(course, list(members), list(links), views)
