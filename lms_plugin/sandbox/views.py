"""Pages and LTI platform endpoints of the sandbox LMS, under /sandbox.

Human pages live on `blueprint`; the endpoints the tool (or the browser coming from the tool)
calls cross-site live on the nested `machine` blueprint (`endpoints.py`), exempt from CSRF.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from lms_plugin.database import db
from lms_plugin.sandbox import services
from lms_plugin.sandbox.constants import (
    CLIENT_ID,
    COURSE_CONTEXT_ID,
    DEPLOYMENT_ID,
    ROLE_URIS,
    STAFF_ROLES,
)
from lms_plugin.sandbox.context import ensure_ready, sandbox_urls, secret_key
from lms_plugin.sandbox.endpoints import machine
from lms_plugin.sandbox.launches import PRESENTATIONS, LaunchError, login_initiation_url
from lms_plugin.sandbox.lrs_views import blueprint as lrs_blueprint

blueprint = Blueprint("sandbox", __name__, url_prefix="/sandbox")
blueprint.register_blueprint(machine)
blueprint.register_blueprint(lrs_blueprint)

LAUNCH_PARAMETERS = ("user", "link", "deep_linking", "presentation")
# The user this browser acts as, kept until switched (a pretend LMS's "logged-in user").
ACTING_COOKIE = "sandbox_user"
ACTING_COOKIE_DAYS = 30
ROLE_LABELS = {
    "Instructor": "Instructor",
    "TeachingAssistant": "Teaching assistant",
    "Learner": "Learner",
}


@blueprint.before_request
def refuse_nul_characters() -> ResponseReturnValue | None:
    """NUL cannot be stored or compared in PostgreSQL text: refuse it in any parameter (this also
    runs for the nested machine blueprint)."""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return error_page("Parameters must not contain NUL characters.")
    return None


def error_page(message: str, status: int = 400) -> ResponseReturnValue:
    page = render_template(
        "sandbox/error.html", message=message, status=status, home_url=home_url(request.args)
    )
    return page, status


def home_url(args: Mapping[str, str]) -> str:
    """The course page as the user these parameters act as (`user` of a launch), if any."""
    user = args.get("user")
    return url_for("sandbox.home", **{"as": user}) if user else url_for("sandbox.home")


@blueprint.get("")
def home() -> ResponseReturnValue:
    """The course page, as the user `?as=` names, else as the one this browser switched to, else
    as the instructor."""
    ensure_ready()
    overview = services.course_overview(db.session, COURSE_CONTEXT_ID)
    members = overview.members
    by_id = {m.user.user_id: m for m in members}
    acting = by_id.get(request.args.get("as", "")) or by_id.get(
        request.cookies.get(ACTING_COOKIE, "")
    )
    if acting is None:
        acting = next((m for m in members if m.role == "Instructor"), members[0])
    return render_template(
        "sandbox/home.html",
        overview=overview,
        acting=acting,
        is_staff=acting.role in STAFF_ROLES,
        role_labels=ROLE_LABELS,
        role_uris=ROLE_URIS,
        urls=sandbox_urls(),
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT_ID,
        lti_msg=request.args.get("lti_msg"),
        lti_errormsg=request.args.get("lti_errormsg"),
    )


@blueprint.post("/act-as")
def act_as() -> ResponseReturnValue:
    """Switch the user this browser acts as (kept in a cookie until switched again)."""
    ensure_ready()
    user_id = request.form.get("user", "")
    overview = services.course_overview(db.session, COURSE_CONTEXT_ID)
    if user_id not in {m.user.user_id for m in overview.members}:
        return error_page("Choose a user of the sandbox course.")
    response: Response = redirect(url_for(".home"), code=303)
    response.set_cookie(
        ACTING_COOKIE,
        user_id,
        max_age=ACTING_COOKIE_DAYS * 86400,
        path=url_for(".home"),
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


@blueprint.get("/launch")
def launch() -> ResponseReturnValue:
    """Start a launch as `user`: of resource link `link`, or a deep-linking launch.

    `presentation=iframe` (default) shows the tool in a frame of the sandbox course page;
    `presentation=window` sends the whole window to the tool's login initiation.
    """
    ensure_ready()
    args = request.args
    presentation = args.get("presentation", "iframe")
    if presentation not in PRESENTATIONS:
        return error_page("presentation must be 'iframe' or 'window'.")
    deep_linking = args.get("deep_linking") == "1"
    try:
        target = login_initiation_url(
            db.session,
            sandbox_urls(),
            secret_key(),
            context_id=COURSE_CONTEXT_ID,
            user_id=args.get("user", ""),
            resource_link_id=args.get("link"),
            deep_linking=deep_linking,
            presentation=presentation,
        )
    except LaunchError as error:
        return error_page(str(error))
    if presentation == "window" or args.get("framed") == "1":
        return redirect(target, code=302)
    overview = services.course_overview(db.session, COURSE_CONTEXT_ID)
    link = next((x for x in overview.links if x.resource_link_id == args.get("link")), None)
    query = {key: args[key] for key in LAUNCH_PARAMETERS if key in args}
    return render_template(
        "sandbox/frame.html",
        course=overview.course,
        title="Add content from the tool" if deep_linking else (link.title if link else ""),
        frame_src=url_for(".launch", **{**query, "framed": "1"}),
        window_src=url_for(".launch", **{**query, "presentation": "window"}),
        home_url=home_url(args),
    )
