"""Per-request LTI plumbing for views: the state store, key material, tool config, the launch
context bound to this browser."""

from __future__ import annotations

import time

from flask import abort, current_app, render_template, request, session
from flask.typing import ResponseReturnValue

from lms_plugin import keys
from lms_plugin.database import db
from lms_plugin.lti.http import TimeoutSession
from lms_plugin.lti.models import Course, Platform
from lms_plugin.lti.platform_api import PlatformClient
from lms_plugin.lti.pylti_tool_conf import DatabaseToolConf
from lms_plugin.lti.services import LaunchContext
from lms_plugin.lti.state_store import StateStore
from lms_plugin.secret_box import SecretBox

SESSION_LAUNCHES = "lti_launches"
KEY_CACHE_SECONDS = 30
MAX_LAUNCHES_PER_BROWSER = 20


def render_launch_page(
    template: str, launch: LaunchContext, **values: object
) -> ResponseReturnValue:
    """A page of a launch: the template gets the launch and its course besides `values`."""
    course = db.session.get(Course, launch.course_id)
    return render_template(template, launch=launch, course=course, **values)


def store() -> StateStore:
    return StateStore(db.session)


def token_store() -> StateStore:
    """A store for caches written on their own, committed at once (access tokens): so that no
    write transaction of the request is open while a platform is being called."""
    return StateStore(db.side_session, commit=True)


def secret_box() -> SecretBox:
    box: SecretBox = current_app.extensions["secret_box"]
    return box


def http() -> TimeoutSession:
    client: TimeoutSession = current_app.extensions["lti_http"]
    return client


def lti_signing_key() -> keys.SigningKey:
    """The current LTI key (created on first use if `init` has not made one), cached for
    `KEY_CACHE_SECONDS` per process: a rotation reaches every worker within that time."""
    cache: dict[str, tuple[keys.SigningKey, float]] = current_app.extensions.setdefault(
        "lti_key_cache", {}
    )
    cached = cache.get("lti")
    if cached is not None and time.monotonic() - cached[1] < KEY_CACHE_SECONDS:
        return cached[0]
    keys.ensure_key(db.session, secret_box(), "lti")
    key = keys.signing_key(db.session, secret_box(), "lti")
    cache["lti"] = (key, time.monotonic())
    return key


def tool_conf() -> DatabaseToolConf:
    """pylti1p3's configuration, with the current LTI key."""
    return DatabaseToolConf(db.session, lti_signing_key())


def platform_client(platform: Platform) -> PlatformClient:
    """A client for a platform's services (NRPS, AGS), with its access tokens cached."""
    registration = tool_conf().find_registration_by_params(platform.issuer, platform.client_id)
    return PlatformClient(registration, token_store(), http())


def remember_launch(launch_id: str) -> None:
    """Bind a launch to this browser's session cookie."""
    owned = [i for i in session.get(SESSION_LAUNCHES, []) if i != launch_id]
    session[SESSION_LAUNCHES] = [*owned, launch_id][-MAX_LAUNCHES_PER_BROWSER:]


def current_launch(launch_id: str | None = None) -> LaunchContext:
    """The launch named in the URL, the `X-LTI-Launch-Id` header, the form (or, for downloads, the
    query string), if this browser owns it; 403 otherwise."""
    launch_id = (
        launch_id
        or request.headers.get("X-LTI-Launch-Id")
        or request.form.get("launch_id")
        or (request.args.get("launch_id") if request.method == "GET" else None)
    )
    if not launch_id or launch_id not in session.get(SESSION_LAUNCHES, []):
        abort(403, description="This page needs a launch from your LMS in this browser.")
    launch = LaunchContext.load(store(), launch_id)
    if launch is None:
        abort(403, description="This launch has expired: open the tool from your LMS again.")
    return launch
