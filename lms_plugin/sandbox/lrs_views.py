"""The sandbox LRS under /sandbox/lrs: the xAPI statements resource the tool's delivery posts to
(machine-to-machine with basic auth, so exempt from CSRF) and the page that lists what arrived."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from lms_plugin.database import db
from lms_plugin.extensions import csrf
from lms_plugin.sandbox import lrs
from lms_plugin.sandbox.context import secret_key

blueprint = Blueprint("lrs", __name__, url_prefix="/lrs")
csrf.exempt(blueprint)

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}


@blueprint.errorhandler(lrs.LrsRequestError)
def refuse(error: lrs.LrsRequestError) -> Response:
    headers = dict(XAPI_HEADERS)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Sandbox LRS"'
    body = json.dumps({"error": error.message})
    return Response(body, status=error.status, mimetype="application/json", headers=headers)


@blueprint.route("/xAPI/statements", methods=["POST", "PUT"])
def statements() -> ResponseReturnValue:
    """Receive statements: POST one or a list (200, their ids), PUT one by statementId (204)."""
    lrs.check_request(
        request.headers.get("Authorization"),
        request.headers.get("X-Experience-API-Version"),
        secret_key(),
    )
    body = lrs.parse_body(request.get_data(cache=False))
    if request.method == "PUT":
        lrs.put_statement(db.session, request.args.get("statementId"), body)
        return Response(status=204, headers=XAPI_HEADERS)
    ids = lrs.post_statements(db.session, body)
    return Response(json.dumps(ids), mimetype="application/json", headers=XAPI_HEADERS)


@blueprint.get("")
def viewer() -> ResponseReturnValue:
    """The statements received, newest first, of one course (`?course=`) or of all."""
    course = request.args.get("course") or None
    return render_template(
        "sandbox/lrs.html",
        courses=lrs.courses(db.session),
        course=course,
        statements=lrs.newest_statements(db.session, course),
        limit=lrs.MAX_SHOWN,
    )
