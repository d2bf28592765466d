"""Competency-judgement LTI 1.3 tool.

`create_app` is imported lazily so that the Flask-free parts of the package (the ORM base, the
models, the credential and xAPI code) can be imported without pulling in Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; `config` overrides the environment (see `lms_plugin.config`)."""
    from lms_plugin.app import build_app

    return build_app(config)


def main() -> None:
    """The `lms-plugin` console script."""
    import sys

    from flask.cli import ScriptInfo

    from lms_plugin.commands import cli

    try:
        cli(obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
    except KeyboardInterrupt:
        sys.exit(130)
