"""LTI client-side platform storage (the `lti.put_data` / `lti.get_data` postMessages that Canvas,
D2L and Blackboard answer, named by `lti_storage_target`): where the browser keeps no cookie in the
LMS frame, the login puts a one-time secret in the platform's storage, and the launch page reads it
back and re-posts it, proving that this browser started the login. The re-post must come from
our own page (its `Origin`), so a forged form elsewhere cannot replay it.

Such a launch is "cookieless": its pages carry the launch id, and its Flask session (the CSRF
token and the launch binding) is kept server-side under that id (`LaunchSessionInterface`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from lms_plugin.database import db
from lms_plugin.lti.storage import StateStore

LOGIN_SECONDS = 600
SESSION_SECONDS = 8 * 3600
LAUNCH_PATH = re.compile(r"^/launch/([A-Za-z0-9_-]{16,64})(?:/|$)")


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


def open_server_session(store: StateStore, launch_id: str, data: dict[str, Any]) -> None:
    store.put(f"launch-session:{launch_id}", data, SESSION_SECONDS)


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
        data = StateStore(db.side_session).get(f"launch-session:{launch_id}")
        return ServerSession(data, launch_id) if isinstance(data, dict) else session

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if isinstance(session, ServerSession):
            if session.modified:
                store = StateStore(db.side_session, commit=True)
                open_server_session(store, session.launch_id, dict(session))
            return
        super().save_session(app, session, response)
