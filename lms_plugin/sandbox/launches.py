"""Launching the tool: third-party login initiation, the OIDC authorization request, id_tokens.

1. The sandbox page sends the browser to the tool's login initiation URL with `iss`, `login_hint`
   (the user's id), `target_link_uri`, `lti_message_hint` (a signed, short-lived description of the
   launch), `client_id` and `lti_deployment_id`.
2. The tool sends the browser back to `/sandbox/auth` with an OIDC authentication request.
3. The sandbox checks it and answers a form that posts a signed `id_token` and `state` to the
   tool's redirect URI.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.lti import claims as vocab
from lms_plugin.sandbox import keys
from lms_plugin.sandbox.constants import (
    AGS_SCOPES,
    CLIENT_ID,
    COURSE_OFFERING,
    DEPLOYMENT_ID,
    PLATFORM_NAME,
    ROLE_URIS,
    STAFF_ROLES,
    SandboxUrls,
)
from lms_plugin.sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxMembership,
    SandboxResourceLink,
    SandboxUser,
)
from lms_plugin.secret_box import SecretBox

ID_TOKEN_SECONDS = 300
MESSAGE_HINT_SECONDS = 600
DEEP_LINK_DATA_SECONDS = 3600
MAX_PARAMETER_LENGTH = 2048
PRESENTATIONS = ("iframe", "window")

_HINT_SALT = "sandbox-lti-message-hint"
_DATA_SALT = "sandbox-deep-linking-data"


class LaunchError(ValueError):
    """A launch or authorization request the sandbox refuses; the message says why."""


@dataclass(frozen=True)
class Member:
    course: SandboxCourse
    user: SandboxUser
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


@dataclass(frozen=True)
class MessageHint:
    user_id: str
    context_id: str
    message: str  # "resource_link" or "deep_linking"
    resource_link_id: str | None
    presentation: str


@dataclass(frozen=True)
class AuthResponse:
    redirect_uri: str
    id_token: str
    state: str


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def find_member(session: Session, context_id: str, user_id: str) -> Member | None:
    row = session.execute(
        select(SandboxCourse, SandboxUser, SandboxMembership.role)
        .join(SandboxMembership, SandboxMembership.course_id == SandboxCourse.id)
        .join(SandboxUser, SandboxUser.id == SandboxMembership.user_id)
        .where(SandboxCourse.context_id == context_id, SandboxUser.user_id == user_id)
    ).first()
    return Member(row[0], row[1], row[2]) if row else None


def find_link(session: Session, course: SandboxCourse, link_id: str) -> SandboxResourceLink | None:
    return session.scalar(
        select(SandboxResourceLink).where(
            SandboxResourceLink.course_id == course.id,
            SandboxResourceLink.resource_link_id == link_id,
        )
    )


def login_initiation_url(
    session: Session,
    urls: SandboxUrls,
    secret_key: str,
    *,
    context_id: str,
    user_id: str,
    resource_link_id: str | None,
    deep_linking: bool,
    presentation: str = "iframe",
) -> str:
    """Where to send the browser to start a launch (the tool's login initiation, with its query)."""
    member = find_member(session, context_id, user_id)
    if member is None:
        raise LaunchError("That user is not a member of this course.")
    if presentation not in PRESENTATIONS:
        raise LaunchError("Presentation must be 'iframe' or 'window'.")
    if deep_linking:
        if not member.is_staff:
            raise LaunchError("Only instructors and teaching assistants can add content.")
        target = urls.tool_launch
        resource_link_id = None
    else:
        if not resource_link_id:
            raise LaunchError("Choose a resource link to launch.")
        link = find_link(session, member.course, resource_link_id)
        if link is None:
            raise LaunchError("That resource link is not in this course.")
        target = link.target_link_uri
    hint = _serializer(secret_key, _HINT_SALT).dumps(
        {
            "u": user_id,
            "c": context_id,
            "m": "deep_linking" if deep_linking else "resource_link",
            "l": resource_link_id,
            "p": presentation,
        }
    )
    query = {
        "iss": urls.issuer,
        "login_hint": user_id,
        "target_link_uri": target,
        "lti_message_hint": hint,
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
    }
    return f"{urls.tool_login}?{urlencode(query)}"


def read_message_hint(secret_key: str, hint: str) -> MessageHint:
    try:
        data = _serializer(secret_key, _HINT_SALT).loads(hint, max_age=MESSAGE_HINT_SECONDS)
    except SignatureExpired:
        raise LaunchError("lti_message_hint has expired; start the launch again.") from None
    except BadSignature:
        raise LaunchError("lti_message_hint is not one the sandbox issued.") from None
    if not isinstance(data, dict):
        raise LaunchError("lti_message_hint is not one the sandbox issued.")
    return MessageHint(data["u"], data["c"], data["m"], data.get("l"), data.get("p", "iframe"))


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise LaunchError(f"The authentication request has no '{name}'.")
    if len(value) > MAX_PARAMETER_LENGTH * (4 if name == "lti_message_hint" else 1):
        raise LaunchError(f"'{name}' is too long.")
    return value


def authorize(
    session: Session,
    urls: SandboxUrls,
    secret_key: str,
    box: SecretBox,
    params: Mapping[str, str],
    *,
    now: float | None = None,
) -> AuthResponse:
    """Check an OIDC authentication request from the tool and sign the id_token it asks for."""
    scopes = _required(params, "scope").split()
    if "openid" not in scopes:
        raise LaunchError("scope must be 'openid'.")
    checks = {
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": CLIENT_ID,
        "redirect_uri": urls.tool_launch,
    }
    for name, expected in checks.items():
        value = _required(params, name)
        if value != expected:
            raise LaunchError(f"{name} must be '{expected}', not '{value[:200]}'.")
    nonce = _required(params, "nonce")
    state = _required(params, "state")
    login_hint = _required(params, "login_hint")
    hint = read_message_hint(secret_key, _required(params, "lti_message_hint"))
    if hint.user_id != login_hint:
        raise LaunchError("login_hint does not match the user of lti_message_hint.")
    member = find_member(session, hint.context_id, login_hint)
    if member is None:
        raise LaunchError("login_hint does not name a member of the course.")
    claims = build_claims(session, urls, secret_key, member, hint, nonce, now=now)
    return AuthResponse(urls.tool_launch, sign(session, box, claims), state)


def sign(session: Session, box: SecretBox, claims: dict[str, Any]) -> str:
    key = keys.current_key(session, box)
    return jwt.encode(claims, key.private_key, algorithm=keys.ALGORITHM, headers={"kid": key.kid})


def build_claims(
    session: Session,
    urls: SandboxUrls,
    secret_key: str,
    member: Member,
    hint: MessageHint,
    nonce: str,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """Every claim of the id_token for this member and message."""
    issued = int(now if now is not None else time.time())
    course, user = member.course, member.user
    claims: dict[str, Any] = {
        "iss": urls.issuer,
        "sub": user.user_id,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "exp": issued + ID_TOKEN_SECONDS,
        "iat": issued,
        "nonce": nonce,
        "jti": secrets.token_urlsafe(16),
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        "locale": "en",
        vocab.VERSION: vocab.LTI_VERSION,
        vocab.DEPLOYMENT_ID: DEPLOYMENT_ID,
        vocab.ROLES: list(ROLE_URIS[member.role]),
        vocab.CONTEXT: {
            "id": course.context_id,
            "label": course.label,
            "title": course.title,
            "type": [COURSE_OFFERING],
        },
        vocab.TOOL_PLATFORM: {
            "guid": f"{urls.issuer}#platform",
            "name": PLATFORM_NAME,
            "product_family_code": "lms-plugin-sandbox",
            "version": "1.0",
        },
        vocab.LAUNCH_PRESENTATION: {
            "document_target": hint.presentation,
            "return_url": urls.home,
            "locale": "en",
        },
        vocab.NRPS: {
            "context_memberships_url": urls.memberships(course.context_id),
            "service_versions": ["2.0"],
        },
    }
    ags: dict[str, Any] = {
        "scope": list(AGS_SCOPES),
        "lineitems": urls.lineitems(course.context_id),
    }
    if hint.message == "deep_linking":
        if not member.is_staff:
            raise LaunchError("Only instructors and teaching assistants can add content.")
        data = _serializer(secret_key, _DATA_SALT).dumps(
            {"c": course.context_id, "u": user.user_id, "r": secrets.token_urlsafe(12)}
        )
        claims[vocab.MESSAGE_TYPE] = vocab.DEEP_LINKING_REQUEST
        claims[vocab.TARGET_LINK_URI] = urls.tool_launch
        claims[vocab.DEEP_LINKING_SETTINGS] = {
            "deep_link_return_url": urls.deep_link_return,
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "title": f"Add content to {course.title}",
            "data": data,
        }
    else:
        link = find_link(session, course, hint.resource_link_id or "")
        if link is None:
            raise LaunchError("The resource link of this launch no longer exists.")
        claims[vocab.MESSAGE_TYPE] = vocab.RESOURCE_LINK_REQUEST
        claims[vocab.TARGET_LINK_URI] = link.target_link_uri
        claims[vocab.RESOURCE_LINK] = {"id": link.resource_link_id, "title": link.title}
        if link.text:
            claims[vocab.RESOURCE_LINK]["description"] = link.text
        claims[vocab.CUSTOM] = dict(link.custom)
        bound = session.scalars(
            select(SandboxLineItem.id).where(SandboxLineItem.resource_link_id == link.id)
        ).all()
        if len(bound) == 1:
            ags["lineitem"] = urls.lineitem(course.context_id, bound[0])
    claims[vocab.AGS_ENDPOINT] = ags
    return claims


def read_deep_link_data(secret_key: str, data: Any) -> tuple[str, str, str]:
    """(context_id, user_id, one-time id) from the `data` the sandbox put in a deep-link request."""
    if not isinstance(data, str) or not data:
        raise LaunchError("The response does not echo the deep-linking 'data'.")
    try:
        decoded = _serializer(secret_key, _DATA_SALT).loads(data, max_age=DEEP_LINK_DATA_SECONDS)
    except SignatureExpired:
        raise LaunchError("The deep-linking request has expired; start again.") from None
    except BadSignature:
        raise LaunchError("The deep-linking 'data' is not what the sandbox sent.") from None
    if not isinstance(decoded, dict):
        raise LaunchError("The deep-linking 'data' is not what the sandbox sent.")
    return str(decoded["c"]), str(decoded["u"]), str(decoded["r"])
