"""Public pages listing the frameworks and their versions, and the CASE 1.0 JSON endpoints."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue

from lms_plugin.database import db
from lms_plugin.frameworks import case, services
from lms_plugin.frameworks.attribution import attribution_text
from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.orm import MAX_ID

blueprint = Blueprint("frameworks", __name__, url_prefix="/frameworks")
blueprint.add_app_template_filter(attribution_text, "attribution_text")


@blueprint.get("")
def index() -> ResponseReturnValue:
    occupations = services.by_occupation(services.current_versions(db.session))
    return render_template("frameworks/index.html", occupations=occupations)


@blueprint.get(f"/<int(max={MAX_ID}):version_id>")
def detail(version_id: int) -> ResponseReturnValue:
    version = services.get_version(db.session, version_id)
    if version is None:
        abort(404, description="There is no framework version with this id.")
    history = services.framework_versions(db.session, version.framework_id)
    return render_template("frameworks/detail.html", version=version, history=history)


# CASE 1.0 provider endpoints (read only, public, JSON): a framework version is a CFDocument.
case_blueprint = Blueprint("case", __name__, url_prefix=case.PREFIX)
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _case_json(body: object, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _unknown(what: str) -> Response:
    """CASE's status payload for an unknown object (its 404)."""
    return _case_json(
        {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_description": f"There is no {what} with this identifier.",
            "imsx_codeMinor": {
                "imsx_codeMinorField": [
                    {
                        "imsx_codeMinorFieldName": "sourcedId",
                        "imsx_codeMinorFieldValue": "unknownobject",
                    }
                ]
            },
        },
        404,
    )


def _version(identifier: str) -> FrameworkVersion | None:
    """A version by its CFDocument UUID, or by its id as `frameworks list --json` prints it."""
    if UUID.match(identifier):
        return services.get_version_by_case_id(db.session, identifier)
    if identifier.isascii() and identifier.isdigit() and int(identifier) <= MAX_ID:
        return services.get_version(db.session, int(identifier))
    return None


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


@case_blueprint.get("/CFPackages/<identifier>")
def package(identifier: str) -> ResponseReturnValue:
    version = _version(identifier)
    if version is None:
        return _unknown("CFPackage")
    return _case_json(case.build_package(version, _base_url()))


@case_blueprint.get("/CFDocuments")
def documents() -> ResponseReturnValue:
    versions = services.list_versions(db.session)
    return _case_json({"CFDocuments": [case.build_document(v, _base_url()) for v in versions]})


@case_blueprint.get("/CFDocuments/<identifier>")
def document(identifier: str) -> ResponseReturnValue:
    version = _version(identifier)
    if version is None:
        return _unknown("CFDocument")
    return _case_json(case.build_document(version, _base_url()))


@case_blueprint.get("/CFItems/<identifier>")
def item(identifier: str) -> ResponseReturnValue:
    version = services.version_of_item(db.session, identifier) if UUID.match(identifier) else None
    found = case.build_item(version, identifier.lower(), _base_url()) if version else None
    if found is None:
        return _unknown("CFItem")
    return _case_json(found)
