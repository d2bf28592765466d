"""The sandbox platform's machine endpoints: OIDC authorization, JWKS, token, deep-link return,
NRPS and AGS. They receive cross-site requests from the tool (or from the browser coming from
the tool), so this blueprint is exempt from CSRF; each checks its own credentials instead."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from lms_plugin.database import db
from lms_plugin.extensions import csrf
from lms_plugin.lti import claims as vocab
from lms_plugin.orm import MAX_ID
from lms_plugin.sandbox import deep_linking, keys, launches, services, tokens
from lms_plugin.sandbox.context import ensure_ready, sandbox_urls, secret_box, secret_key
from lms_plugin.sandbox.tokens import ServiceError, TokenError
from lms_plugin.sandbox.toolkeys import contains_nul

machine = Blueprint("machine", __name__)
csrf.exempt(machine)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(
    body: Any, status: int = 200, media_type: str = "application/json", **headers: str
) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, mimetype=media_type, headers=headers)


def _service_error(error: ServiceError) -> Response:
    body = {"error": error.message}
    return _json(body, error.status, **error.headers)


def _error_page(message: str, status: int = 400) -> ResponseReturnValue:
    return render_template("sandbox/error.html", message=message, status=status), status


@machine.errorhandler(ServiceError)
def handle_service_error(error: ServiceError) -> Response:
    return _service_error(error)


def _authorize(*scopes: str) -> None:
    tokens.require_scope(db.session, request.headers.get("Authorization"), scopes)


def _body(*media_types: str) -> Any:
    if request.mimetype not in (*media_types, "application/json"):
        raise ServiceError(415, "Content-Type must be " + " or ".join(media_types))
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServiceError(400, "the body is not valid JSON") from None
    if contains_nul(body):
        raise ServiceError(400, "the body must not contain NUL characters")
    return body


# --- LTI launch -------------------------------------------------------------------------------


@machine.route("/auth", methods=["GET", "POST"])
def auth() -> ResponseReturnValue:
    """OIDC authorization endpoint: answers a form that posts the id_token to the tool."""
    params = request.args if request.method == "GET" else request.form
    try:
        answer = launches.authorize(
            db.session, sandbox_urls(), secret_key(), secret_box(), params.to_dict()
        )
    except launches.LaunchError as error:
        return _error_page(f"The launch request was refused: {error}")
    page = render_template(
        "sandbox/auto_post.html",
        action=answer.redirect_uri,
        fields={"id_token": answer.id_token, "state": answer.state},
    )
    return page, 200, {**NO_STORE, "Referrer-Policy": "no-referrer"}


@machine.get("/jwks")
def jwks() -> ResponseReturnValue:
    ensure_ready()
    return _json(keys.jwks(db.session), 200, **{"Cache-Control": "public, max-age=300"})


@machine.post("/token")
def token() -> ResponseReturnValue:
    """OAuth 2.0 client credentials with a JWT client assertion."""
    try:
        body = tokens.grant_token(db.session, sandbox_urls(), request.form.to_dict())
    except TokenError as error:
        answer = {"error": error.error, "error_description": error.description}
        return _json(answer, error.status, **NO_STORE)
    return _json(body, 200, **NO_STORE)


@machine.post("/deep-link-return")
def deep_link_return() -> ResponseReturnValue:
    """Receives the tool's LtiDeepLinkingResponse (form field `JWT`) through the browser."""
    token = request.form.get("JWT", "")
    try:
        result = deep_linking.handle_response(db.session, sandbox_urls(), secret_key(), token)
    except deep_linking.DeepLinkError as error:
        return _error_page(f"The content from the tool was refused: {error}. Nothing was added.")
    return render_template("sandbox/deep_link_done.html", result=result)


# --- NRPS 2.0 ---------------------------------------------------------------------------------


@machine.get("/courses/<context_id>/memberships")
def memberships(context_id: str) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_NRPS)
    page = services.memberships(db.session, sandbox_urls(), context_id, request.args.to_dict())
    return _json(page.body, 200, vocab.MEDIA_MEMBERSHIP_CONTAINER, **page.headers)


# --- AGS 2.0 ----------------------------------------------------------------------------------


@machine.get("/courses/<context_id>/lineitems")
def lineitems(context_id: str) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY)
    page = services.list_lineitems(db.session, sandbox_urls(), context_id, request.args.to_dict())
    return _json(page.body, 200, vocab.MEDIA_LINEITEM_CONTAINER, **page.headers)


@machine.post("/courses/<context_id>/lineitems")
def create_lineitem(context_id: str) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_LINEITEM)
    body = _body(vocab.MEDIA_LINEITEM)
    item = services.create_lineitem(db.session, sandbox_urls(), context_id, body)
    return _json(item, 201, vocab.MEDIA_LINEITEM, Location=item["id"])


@machine.get(f"/courses/<context_id>/lineitems/<int(max={MAX_ID}):line_item_id>")
def lineitem(context_id: str, line_item_id: int) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY)
    item = services.get_lineitem(db.session, sandbox_urls(), context_id, line_item_id)
    return _json(item, 200, vocab.MEDIA_LINEITEM)


@machine.put(f"/courses/<context_id>/lineitems/<int(max={MAX_ID}):line_item_id>")
def update_lineitem(context_id: str, line_item_id: int) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_LINEITEM)
    body = _body(vocab.MEDIA_LINEITEM)
    item = services.update_lineitem(db.session, sandbox_urls(), context_id, line_item_id, body)
    return _json(item, 200, vocab.MEDIA_LINEITEM)


@machine.delete(f"/courses/<context_id>/lineitems/<int(max={MAX_ID}):line_item_id>")
def delete_lineitem(context_id: str, line_item_id: int) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_LINEITEM)
    services.delete_lineitem(db.session, context_id, line_item_id)
    return Response(status=204)


@machine.post(f"/courses/<context_id>/lineitems/<int(max={MAX_ID}):line_item_id>/scores")
def scores(context_id: str, line_item_id: int) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_SCORE)
    body = _body(vocab.MEDIA_SCORE)
    answer = services.post_score(db.session, sandbox_urls(), context_id, line_item_id, body)
    return _json(answer, 200)


@machine.get(f"/courses/<context_id>/lineitems/<int(max={MAX_ID}):line_item_id>/results")
def results(context_id: str, line_item_id: int) -> ResponseReturnValue:
    _authorize(vocab.SCOPE_RESULT_READONLY)
    page = services.results(
        db.session, sandbox_urls(), context_id, line_item_id, request.args.to_dict()
    )
    return _json(page.body, 200, vocab.MEDIA_RESULT_CONTAINER, **page.headers)
