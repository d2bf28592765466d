"""Pages and LTI platform endpoints of the sandbox LMS, under /sandbox."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

blueprint = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@blueprint.get("")
def home() -> ResponseReturnValue:
    return render_template("sandbox/home.html")
