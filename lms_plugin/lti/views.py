"""LTI endpoints (login, launch, JWKS, dynamic registration, Canvas config) and the pages a
launch leads to (placement choice, deep linking, the course page)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException

from lms_plugin import keys
from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.lti import claims, current, invites, platform_storage, services, tool_metadata
from lms_plugin.lti.cookies import NEW_WINDOW_PARAM, PartitionedCookieService, needs_cookie_check
from lms_plugin.lti.deep_linking import placement_resource, response_jwt
from lms_plugin.lti.dynamic_registration import InviteRefused, RegistrationError, register
from lms_plugin.lti.message_launch import ToolMessageLaunch
from lms_plugin.lti.models import Deployment, Platform, ResourceLink
from lms_plugin.lti.state_store import DatabaseLaunchDataStorage

blueprint = Blueprint("lti", __name__)
log = logging.getLogger(__name__)


def refuse(message: str, status: int = 400) -> ResponseReturnValue:
    title = "This launch could not be accepted" if status == 400 else "Not allowed"
    return render_template("error.html", status=status, title=title, message=message), status


@blueprint.route("/lti/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """OIDC third-party login initiation: redirect to the platform's authorization endpoint."""
    base = current_app.config["BASE_URL"]
    params = request.values
    target = params.get("target_link_uri", "")
    if target and not target.startswith(base + "/"):
        return refuse("target_link_uri does not point at this tool.")
    if needs_cookie_check(request.headers, params):
        query = {**params.to_dict(), NEW_WINDOW_PARAM: "1"}
        return render_template(
            "lti/cookie_check.html",
            continue_url=url_for("lti.login", **query),
            secure=request.is_secure,
        )
    store = current.store()
    if secrets.randbelow(50) == 0:
        store.purge_expired()
    lti_request = FlaskRequest()
    cookies = PartitionedCookieService(lti_request)
    oidc = FlaskOIDCLogin(
        lti_request,
        current.tool_conf(),
        cookie_service=cookies,
        launch_data_storage=DatabaseLaunchDataStorage(store),
    )
    try:
        if not params.get("lti_storage_target"):
            return oidc.redirect(tool_metadata.urls(base)["launch"])
        redirection = oidc.get_redirect_object(tool_metadata.urls(base)["launch"])
    except OIDCException as error:
        return refuse(f"The login request was refused: {error}.")
    # The platform offers its storage: keep the state there too, for browsers without cookies.
    auth_url = redirection.get_redirect_url()
    state = dict(parse_qsl(urlsplit(auth_url).query)).get("state", "")
    secret, origin = platform_storage.start(store, state, auth_url)
    response = make_response(
        render_template(
            "lti/storage_login.html",
            target=params["lti_storage_target"],
            origin=origin,
            key=platform_storage.storage_key(state),
            value=secret,
            auth_url=auth_url,
        )
    )
    cookies.update_response(response)
    return response


@blueprint.post("/lti/launch")
def launch() -> ResponseReturnValue:
    """Validate an id_token, record who launched where, and send the browser to its page."""
    state = request.form.get("state", "")
    verified_by_storage = False
    if request.cookies.get(f"lti1p3-{state}") != state and request.form.get("lti_storage_target"):
        record = platform_storage.pending(current.store(), state)
        secret = request.form.get("lti_storage_secret")
        if record is not None and not secret:
            # No cookie came back: read the secret from the platform's storage in the browser.
            return render_template(
                "lti/storage_launch.html",
                fields={k: request.form.get(k, "") for k in ("id_token", "state")},
                target=request.form["lti_storage_target"],
                origin=record["origin"],
                key=platform_storage.storage_key(state),
            )
        own_origin = "{0.scheme}://{0.netloc}".format(urlsplit(current_app.config["BASE_URL"]))
        if secret:
            verified_by_storage = platform_storage.verify(
                current.store(), state, secret, request.headers.get("Origin"), own_origin
            )
            if not verified_by_storage:
                return refuse("The launch was refused: the platform storage check failed.")
    conf = current.tool_conf()
    message = ToolMessageLaunch(
        FlaskRequest(), conf, current.store(), current.http(), state_verified=verified_by_storage
    )
    try:
        body = message.get_launch_data()
    except LtiException as error:
        log.info("launch refused: %s", error)
        return refuse(f"The launch was refused: {error}.")
    if body.get(claims.MESSAGE_TYPE) not in claims.ACCEPTED_MESSAGE_TYPES:
        return refuse(
            "The launch was refused: this tool takes resource link and deep linking launches only."
        )
    base = current_app.config["BASE_URL"]
    if not str(body.get(claims.TARGET_LINK_URI, "")).startswith(base + "/"):
        return refuse("The launch was refused: its target_link_uri does not point at this tool.")
    if claims.course_role(body.get(claims.ROLES)) is None:
        # Only course (context) roles count: an observer, a mentor or someone with no role in
        # this course gets nothing here, whatever their institution or system roles.
        return refuse(
            "This tool has pages for a course's learners and its staff (instructors, teaching "
            "assistants, content developers) only, and your role in this course is neither.",
            403,
        )
    platform = conf.platform(message.get_iss(), message.get_client_id())
    assert platform is not None, "validated by ToolMessageLaunch.validate_registration"
    assert message.deployment_row_id is not None, "validated by ToolMessageLaunch.validate"
    current.mark_phase("validate")
    registry = current.registry()
    try:
        launched = services.record_launch(
            db.session,
            platform,
            message.deployment_row_id,
            body,
            message.nonce_key,
            level_keys=lambda version_id: registry.level_keys(db.session, version_id),
            cookieless=verified_by_storage,
        )
    except ValueError as error:
        return refuse(f"The launch was refused: {error}.")
    page_token = None
    if launched.cookieless:
        page_token = platform_storage.open_server_session(
            current_app,
            current.store(),
            launched.launch_id,
            {current.SESSION_LAUNCHES: [launched.launch_id]},
            request.user_agent.string,
        )
    else:
        current.remember_launch(launched.launch_id)
    if launched.staff and launched.nrps_url:
        # The worker reads the roster; the launch only asks for it and answers at once.
        current.ask_for_roster(launched.course_id, launched.nrps_url)
    current.mark_phase("record")
    page_url = url_for("lti.launched", launch_id=launched.launch_id)
    if page_token is None:
        response = redirect(page_url, code=303)
    else:
        # Without cookies, the page is reached by posting its CSRF token (see platform_storage).
        page = render_template("lti/continue_launch.html", action=page_url, token=page_token)
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"
    # pylti1p3 sets one cookie per login; drop it once used, or they pile up in the browser.
    response.delete_cookie(f"lti1p3-{request.form['state']}", path="/")
    current.mark_phase("render")
    return response


@blueprint.route("/launch/<launch_id>", methods=["GET", "POST"])
def launched(launch_id: str) -> ResponseReturnValue:
    """The page a launch leads to, by message type and role (POST: from a cookieless page, with
    its CSRF token)."""
    launch = current.current_launch(launch_id)
    if launch.message_type == claims.DEEP_LINKING_REQUEST:
        if not launch.staff:
            abort(403, description="Only course staff can add this tool to a course.")
        return _chooser(launch, action=url_for("lti.deep_link", launch_id=launch_id))
    link = db.session.get(ResourceLink, launch.resource_link_id)
    assert link is not None
    if link.framework_version_id is None:
        if launch.staff:
            return _chooser(launch, action=url_for("lti.place", launch_id=launch_id))
        return current.render_launch_page("lti/not_set_up.html", launch)
    course_page = current_app.extensions["course_page"]  # assessment's grid or learner page
    return course_page(launch, link)


def _chooser(launch: services.LaunchContext, action: str) -> ResponseReturnValue:
    versions = frameworks.current_versions(db.session)
    return current.render_launch_page("lti/choose.html", launch, versions=versions, action=action)


def _chosen_placement(launch: services.LaunchContext) -> tuple[object, list[str] | None]:
    """The framework version and levels from the chooser form, or 400."""
    if not launch.staff:
        abort(403, description="Only course staff can choose the framework.")
    framework = request.form.get("framework", "")
    levels = request.form.getlist("levels") or None
    try:
        version, keys_in_scope = services.parse_placement(
            db.session, framework, ",".join(levels) if levels else None
        )
    except services.PlacementError as error:
        abort(400, description=str(error))
    return version, keys_in_scope


@blueprint.post("/launch/<launch_id>/placement")
def place(launch_id: str) -> ResponseReturnValue:
    """Staff choose the framework for a link that has none (kept per resource link)."""
    launch = current.current_launch(launch_id)
    version, levels = _chosen_placement(launch)
    link = db.session.get(ResourceLink, launch.resource_link_id)
    if link is None:
        abort(400, description="This launch is not a resource link launch.")
    services.set_placement(db.session, link, version, levels)  # type: ignore[arg-type]
    return redirect(url_for("lti.launched", launch_id=launch_id), code=303)


@blueprint.post("/launch/<launch_id>/deep-link")
def deep_link(launch_id: str) -> ResponseReturnValue:
    """Return the chosen placement to the platform as a signed LtiDeepLinkingResponse."""
    launch = current.current_launch(launch_id)
    if launch.deep_linking is None:
        abort(400, description="This launch is not a deep linking launch.")
    version, levels = _chosen_placement(launch)
    platform = db.session.get(Platform, launch.platform_id)
    deployment = db.session.get(Deployment, launch.deployment_id)
    assert platform is not None and deployment is not None
    resource = placement_resource(
        version,  # type: ignore[arg-type]
        levels,
        tool_metadata.urls(current_app.config["BASE_URL"])["launch"],
    )
    token = response_jwt(
        client_id=platform.client_id,
        issuer=platform.issuer,
        deployment_id=deployment.deployment_id,
        settings=launch.deep_linking,
        resources=[resource],
        key=current.lti_signing_key(),
    )
    return_url = str(launch.deep_linking.get("deep_link_return_url", ""))
    if not return_url.startswith(("https://", "http://")):
        abort(400, description="The platform gave no usable deep_link_return_url.")
    return render_template("lti/deep_link_return.html", return_url=return_url, jwt=token)


@blueprint.get("/lti/jwks")
def jwks() -> ResponseReturnValue:
    keys.ensure_key(db.session, current.secret_box(), "lti")
    response = current_app.json.response(keys.jwks(db.session))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/lti/config.json")
def canvas_config() -> ResponseReturnValue:
    return tool_metadata.canvas_configuration(current_app.config["BASE_URL"])


@blueprint.get("/lti/register")
def dynamic_registration() -> ResponseReturnValue:
    """LTI Dynamic Registration through a registration link from `lms-plugin platform invite`:
    register with the platform, then ask it to close the window. The link's token is a secret: it
    is never shown, and the pages send no Referer that would carry it."""
    config_url = request.args.get("openid_configuration")
    try:
        if not config_url:
            # The link opened in a browser, not by an LMS: say how to use it, if it is usable.
            invite = invites.usable_invite(db.session, request.args.get("invite"))
            if invite is None:
                raise InviteRefused()
            page = render_template("lti/register_help.html", invite=invite)
            return _no_referrer(page, 200)
        platform = register(
            db.session,
            current.http(),
            current_app.config["BASE_URL"],
            request.args.get("invite"),
            config_url,
            request.args.get("registration_token"),
            allow_http=current_app.config["ALLOW_HTTP_PLATFORMS"],
        )
    except InviteRefused:
        return _no_referrer(render_template("lti/register_help.html", invite=None), 403)
    except RegistrationError as error:
        page = render_template(
            "error.html",
            status=400,
            title="The registration failed",
            message=f"Registration failed: {error}. The registration link can be used again.",
        )
        return _no_referrer(page, 400)
    page = render_template("lti/registered.html", platform=platform)
    return _no_referrer(page, 200)


def _no_referrer(page: str, status: int) -> ResponseReturnValue:
    response = make_response(page, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
