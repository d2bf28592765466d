"""LTI client-side platform storage (the `lti.put_data` / `lti.get_data` postMessages that Canvas,
D2L and Blackboard answer, named by `lti_storage_target`): where the browser keeps no cookie in the
LMS frame, the login puts a one-time secret in the platform's storage, and the launch page reads it
back and re-posts it, proving that this browser started the login. The re-post must come from
our own page (its `Origin`), so a forged form elsewhere cannot replay it.

Such a launch is "cookieless": its Flask session (the CSRF token and the launch binding) is kept
server-side under the launch id (`LaunchSessionInterface`). The launch id is in its URLs, so it
must not be a bearer token on its own: a request opens that session only if it also carries the
session's CSRF token (the `X-CSRFToken` header, or the `csrf_token` field of a POST form), which
only the tool's pages hold and which never appears in a URL, and comes from the same User-Agent
as the launch. Its pages are therefore reached by POST (a form carrying the token), and a 303
back to the launch page after a form becomes a 307, which re-posts the token. The session lives
`SESSION_SECONDS` after its last use. Access logs (werkzeug, gunicorn) get launch ids redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from lms_plugin.database import db
from lms_plugin.lti.state_store import StateStore

LOGIN_SECONDS = 600
# Idle life of a cookieless session: long enough for one sitting of judging, short enough that a
# forgotten LMS tab does not stay usable all day; reopening the activity in the LMS is one click.
# (The launch itself expires after `services.LAUNCH_LIFETIME_SECONDS` whatever the use.)
SESSION_SECONDS = 2 * 3600
REFRESH_SECONDS = 300
LAUNCH_PATH = re.compile(r"^/launch/([A-Za-z0-9_-]{16,64})(?:/|$)")
CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's: a token it validates is a token this module accepts
AGENT = "lti_agent"
REFRESHED = "lti_refreshed"


def storage_key(state: str) -> str:
    return f"lti-state-{state}"


def start(store: StateStore, state: str, auth_url: str) -> tuple[str, str]:
    """Remember a one-time secret for this login; returns it and the platform origin to post to."""
    secret = secrets.token_urlsafe(32)
    parts = urlsplit(auth_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    store.put(
        f"storage:{state}",
        {"hash": hashlib.sha256(secret.encode()).hexdigest(), "origin": origin},
        LOGIN_SECONDS,
    )
    return secret, origin


def pending(store: StateStore, state: str) -> dict[str, Any] | None:
    """The login's record (platform origin), if this state was started with platform storage."""
    record = store.get(f"storage:{state}")
    return record if isinstance(record, dict) else None


def verify(store: StateStore, state: str, secret: str, origin: str | None, own: str) -> bool:
    """The secret read back from the platform's storage, re-posted from our own page: single use."""
    if origin != own:
        return False
    record = store.take(f"storage:{state}")
    if not isinstance(record, dict):
        return False
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(digest, str(record.get("hash", "")))


def open_server_session(
    app: Flask, store: StateStore, launch_id: str, data: dict[str, Any], user_agent: str
) -> str:
    """Keep a cookieless launch's session (bound to this User-Agent, with a new CSRF token) and
    return the signed CSRF token for the page that continues the launch."""
    raw = secrets.token_hex(20)  # the form of Flask-WTF's raw token
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    data = {**data, field: raw, AGENT: _digest(user_agent), REFRESHED: time.time()}
    store.put(_session_key(launch_id), data, SESSION_SECONDS)
    return _serializer(app).dumps(raw)


def _session_key(launch_id: str) -> str:
    return f"launch-session:{launch_id}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt=CSRF_SALT)


def _held_by_page(app: Flask, request: Request, data: dict[str, Any]) -> bool:
    """The request carries the session's CSRF token and comes from the launch's User-Agent."""
    if not hmac.compare_digest(str(data.get(AGENT, "")), _digest(request.user_agent.string)):
        return False
    token = next(
        (
            request.headers[name]
            for name in app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
            if request.headers.get(name)
        ),
        None,
    )
    if token is None and request.method == "POST":
        try:
            token = request.form.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        except HTTPException:  # a body over MAX_CONTENT_LENGTH: the view answers 413 itself
            token = None
    if not token:
        return False
    try:
        raw = _serializer(app).loads(token, max_age=app.config.get("WTF_CSRF_TIME_LIMIT", 3600))
    except BadData:
        return False
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return isinstance(raw, str) and hmac.compare_digest(raw, str(data.get(field, "")))


class ServerSession(SecureCookieSession):
    """A session kept in the database under a cookieless launch's id."""

    def __init__(self, initial: dict[str, Any], launch_id: str) -> None:
        super().__init__(initial)
        self.launch_id = launch_id


class LaunchSessionInterface(SecureCookieSessionInterface):
    """Cookie sessions as usual; a request naming a cookieless launch (in the path or the
    `X-LTI-Launch-Id` header) and bringing no session cookie gets that launch's server session."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        session = super().open_session(app, request)
        if session:
            return session
        match = LAUNCH_PATH.match(request.path)
        launch_id = match.group(1) if match else request.headers.get("X-LTI-Launch-Id")
        if not launch_id:
            return session
        data = StateStore(db.side_session).get(_session_key(launch_id))
        if not isinstance(data, dict) or not _held_by_page(app, request, data):
            return session
        opened = ServerSession(data, launch_id)
        if time.time() - float(data.get(REFRESHED, 0)) > REFRESH_SECONDS:
            opened[REFRESHED] = time.time()  # modified: saved again, for another SESSION_SECONDS
        return opened

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if isinstance(session, ServerSession):
            if session.modified:
                store = StateStore(db.side_session, commit=True)
                store.put(_session_key(session.launch_id), dict(session), SESSION_SECONDS)
            return
        super().save_session(app, session, response)


def _repost_to_launch_page(response: Response) -> Response:
    """After a form of a cookieless page, go back to the launch page by re-posting (307), so the
    CSRF token goes along; a 303 would make it a GET without one."""
    if (
        isinstance(session, ServerSession)
        and request.method == "POST"
        and response.status_code == 303
        and LAUNCH_PATH.match(urlsplit(response.location or "").path)
    ):
        response.status_code = 307
    return response


class RedactLaunchIds(logging.Filter):
    """Replaces launch ids in a log line (request line, referer) with `[redacted]`."""

    PATTERN = re.compile(r"(/launch/|launch_id=)[A-Za-z0-9_%-]{8,}")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.PATTERN.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACT = RedactLaunchIds()
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def init_app(app: Flask) -> None:
    """Server sessions for cookieless launches, re-posting after their forms, and launch ids
    kept out of the access logs of the development server and gunicorn."""
    app.session_interface = LaunchSessionInterface()
    app.after_request(_repost_to_launch_page)
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).addFilter(REDACT)
