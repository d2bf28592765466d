"""Per-request LTI plumbing for views: the state store, key material, tool config, the launch
context bound to this browser."""

from __future__ import annotations

import time

from flask import abort, current_app, g, render_template, request, session
from flask.typing import ResponseReturnValue

from lms_plugin import keys
from lms_plugin.database import db
from lms_plugin.lti import nrps
from lms_plugin.lti.http import TimeoutSession
from lms_plugin.lti.models import Course, Platform
from lms_plugin.lti.platform_api import PlatformClient
from lms_plugin.lti.pylti_tool_conf import DatabaseToolConf
from lms_plugin.lti.registry import Registry
from lms_plugin.lti.services import LaunchContext
from lms_plugin.lti.state_store import StateStore
from lms_plugin.secret_box import SecretBox

SESSION_LAUNCHES = "lti_launches"
KEY_CACHE_SECONDS = 30
MAX_LAUNCHES_PER_BROWSER = 20
RESYNC_SECONDS = nrps.RESYNC_AFTER.total_seconds()


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
    # Created (if `init` made none) and committed on a session of its own: whichever request
    # or worker pass first needs it, no write transaction of its own stays open meanwhile.
    keys.ensure_key(db.side_session, secret_box(), "lti")
    key = keys.signing_key(db.side_session, secret_box(), "lti")
    db.side_session.commit()
    cache["lti"] = (key, time.monotonic())
    return key


def registry() -> Registry:
    """This process's cache of platforms, deployments and platform keys."""
    found: Registry | None = current_app.extensions.get("lti_registry")
    if found is None:
        found = current_app.extensions["lti_registry"] = Registry()
    return found


def tool_conf() -> DatabaseToolConf:
    """pylti1p3's configuration, with the current LTI key (read only if a service needs it)."""
    return DatabaseToolConf(db.session, registry(), lti_signing_key)


def platform_client(platform: Platform) -> PlatformClient:
    """A client for a platform's services (NRPS, AGS), with its access tokens cached."""
    key = lti_signing_key()  # read now, not inside a service call's own writes
    conf = DatabaseToolConf(db.session, registry(), lambda: key)
    registration = conf.find_registration_by_params(platform.issuer, platform.client_id)
    return PlatformClient(registration, token_store(), http())


def mark_phase(name: str) -> None:
    """End a `Server-Timing` phase of this request, begun at the previous mark (or the request's
    start); the app's response hook puts the phases in the header."""
    now = time.perf_counter()
    begun = g.get("timing_mark", g.get("request_started", now))
    g.setdefault("timing_phases", []).append((name, (now - begun) * 1000))
    g.timing_mark = now


def ask_for_roster(course_id: int, url: str) -> None:
    """Ask the worker for the course's roster (`nrps.request_sync`), unless this process asked
    less than `nrps.RESYNC_AFTER` ago: the database would then refuse a new request anyway (a
    sync is waiting or just finished), so most staff launches skip the statement."""
    asked: dict[int, float] = current_app.extensions.setdefault("roster_asks", {})
    if time.monotonic() - asked.get(course_id, float("-inf")) < RESYNC_SECONDS:
        return
    nrps.request_sync(db.session, course_id, url)
    asked[course_id] = time.monotonic()


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
