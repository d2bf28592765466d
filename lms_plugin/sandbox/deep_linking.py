"""The Deep Linking 2.0 return: check the tool's signed LtiDeepLinkingResponse and add its
`ltiResourceLink` content items (with their line items) to the course. All or nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from lms_plugin.lti import claims as vocab
from lms_plugin.sandbox.constants import CLIENT_ID, DEPLOYMENT_ID, STAFF_ROLES, SandboxUrls
from lms_plugin.sandbox.launches import (
    DEEP_LINK_DATA_SECONDS,
    LaunchError,
    find_member,
    read_deep_link_data,
)
from lms_plugin.sandbox.models import SandboxCourse, SandboxLineItem, SandboxResourceLink
from lms_plugin.sandbox.services import is_number, parse_timestamp
from lms_plugin.sandbox.tokens import ServiceError, consume_once
from lms_plugin.sandbox.toolkeys import LEEWAY_SECONDS, ToolKeyError, decode_tool_jwt

MAX_ITEMS = 50
MAX_CUSTOM = 50


class DeepLinkError(ValueError):
    """The deep-linking response is refused; the message says why. Nothing was stored."""


@dataclass
class Added:
    link: SandboxResourceLink
    line_item: SandboxLineItem | None


@dataclass
class DeepLinkResult:
    course: SandboxCourse
    user_id: str  # who asked for the content: the page after it acts as them
    added: list[Added] = field(default_factory=list)
    msg: str | None = None
    log: str | None = None
    errormsg: str | None = None
    errorlog: str | None = None


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise DeepLinkError(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise DeepLinkError(f"{name} must be a string of at most {limit} characters")
    return value


def _custom(value: Any, index: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_CUSTOM:
        raise DeepLinkError(f"content item {index}: custom must be an object of strings")
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 255:
            raise DeepLinkError(f"content item {index}: custom has an invalid key")
        if not isinstance(item, str) or len(item) > 2048:
            raise DeepLinkError(f"content item {index}: custom {key!r} must be a string")
    return dict(value)


def _url(value: Any, urls: SandboxUrls, index: int) -> str:
    if value is None:
        return urls.tool_launch
    if not isinstance(value, str) or len(value) > 2048:
        raise DeepLinkError(f"content item {index}: url must be a string")
    parts, tool = urlsplit(value), urlsplit(urls.tool_launch)
    if parts.scheme not in ("http", "https") or parts.netloc != tool.netloc:
        raise DeepLinkError(f"content item {index}: url must be on the tool's host {tool.netloc}")
    return value


def handle_response(
    session: Session, urls: SandboxUrls, secret_key: str, token: str
) -> DeepLinkResult:
    """Verify the response JWT and store its resource links. Raises DeepLinkError."""
    try:
        claims = decode_tool_jwt(
            token,
            urls.tool_jwks,
            audience=urls.issuer,
            issuer=CLIENT_ID,
            require=("exp", "iat", "iss", "aud", "nonce"),
        )
    except ToolKeyError as error:
        raise DeepLinkError(str(error)) from None
    if claims.get(vocab.MESSAGE_TYPE) != vocab.DEEP_LINKING_RESPONSE:
        raise DeepLinkError(f"message_type must be {vocab.DEEP_LINKING_RESPONSE}")
    if claims.get(vocab.VERSION) != vocab.LTI_VERSION:
        raise DeepLinkError(f"version must be {vocab.LTI_VERSION}")
    if claims.get(vocab.DEPLOYMENT_ID) != DEPLOYMENT_ID:
        raise DeepLinkError(f"deployment_id must be {DEPLOYMENT_ID}")
    try:
        context_id, user_id, once = read_deep_link_data(
            secret_key, claims.get(vocab.DEEP_LINKING_DATA)
        )
    except LaunchError as error:
        raise DeepLinkError(str(error)) from None
    member = find_member(session, context_id, user_id)
    if member is None or member.role not in STAFF_ROLES:
        raise DeepLinkError("the user who asked for content can no longer add it to the course")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 255:
        raise DeepLinkError("nonce is invalid")
    items = claims.get(vocab.CONTENT_ITEMS, [])
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise DeepLinkError(f"content_items must be a list of at most {MAX_ITEMS} items")

    expires = dt.datetime.now(dt.UTC) + dt.timedelta(
        seconds=DEEP_LINK_DATA_SECONDS + LEEWAY_SECONDS
    )
    if not consume_once(session, f"dl-nonce:{nonce}", expires):
        raise DeepLinkError("this deep-linking response was already received (nonce replayed)")
    if not consume_once(session, f"dl-data:{once}", expires):
        raise DeepLinkError("this deep-linking request was already answered")
    result = DeepLinkResult(
        course=member.course,
        user_id=member.user.user_id,
        msg=_text(claims.get(vocab.DL_MSG), "msg", 2000),
        log=_text(claims.get(vocab.DL_LOG), "log", 2000),
        errormsg=_text(claims.get(vocab.DL_ERRORMSG), "errormsg", 2000),
        errorlog=_text(claims.get(vocab.DL_ERRORLOG), "errorlog", 2000),
    )
    for index, item in enumerate(items):
        result.added.append(_add_item(session, urls, member.course, item, index))

    session.flush()
    return result


def _add_item(
    session: Session, urls: SandboxUrls, course: SandboxCourse, item: Any, index: int
) -> Added:
    if not isinstance(item, dict):
        raise DeepLinkError(f"content item {index} must be an object")
    if item.get("type") != "ltiResourceLink":
        raise DeepLinkError(
            f"content item {index} has type {str(item.get('type'))[:50]!r}; "
            "only ltiResourceLink is accepted"
        )
    title = _text(item.get("title"), f"content item {index}: title", 500) or "Untitled"
    link = SandboxResourceLink(
        course_id=course.id,
        resource_link_id=f"sandbox-link-{secrets.token_hex(8)}",
        title=title,
        text=_text(item.get("text"), f"content item {index}: text", 5000) or "",
        target_link_uri=_url(item.get("url"), urls, index),
        custom=_custom(item.get("custom"), index),
    )
    session.add(link)
    line_item = None
    spec = item.get("lineItem")
    if spec is not None:
        if not isinstance(spec, dict):
            raise DeepLinkError(f"content item {index}: lineItem must be an object")
        maximum = spec.get("scoreMaximum")
        if not is_number(maximum) or maximum <= 0:
            raise DeepLinkError(f"content item {index}: lineItem.scoreMaximum must be > 0")
        window = item.get("submission") if isinstance(item.get("submission"), dict) else {}
        try:
            start = window.get("startDateTime")
            end = window.get("endDateTime")
            start_at = parse_timestamp(start, "startDateTime") if start else None
            end_at = parse_timestamp(end, "endDateTime") if end else None
        except ServiceError as error:
            raise DeepLinkError(f"content item {index}: {error.message}") from None
        line_item = SandboxLineItem(
            course_id=course.id,
            resource_link=link,
            label=_text(spec.get("label"), f"content item {index}: lineItem.label", 500) or title,
            score_maximum=float(maximum),
            resource_id=_text(spec.get("resourceId"), f"content item {index}: resourceId", 255),
            tag=_text(spec.get("tag"), f"content item {index}: tag", 255),
            start_date_time=start_at,
            end_date_time=end_at,
        )
        session.add(line_item)
    return Added(link, line_item)
