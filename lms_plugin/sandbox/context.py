"""The Flask side of the sandbox: its URLs and secret from the app config, lazy setup."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import IntegrityError

from lms_plugin.database import db
from lms_plugin.lti.registrations import find_platform
from lms_plugin.sandbox.constants import CLIENT_ID, SandboxUrls
from lms_plugin.sandbox.setup import ensure_sandbox, is_set_up
from lms_plugin.secret_box import SecretBox


def sandbox_urls() -> SandboxUrls:
    """URLs from `BASE_URL`; `SANDBOX_TOOL_JWKS_URL` (tests only) overrides the tool's JWKS URL."""
    config = current_app.config
    return SandboxUrls(config["BASE_URL"], config.get("SANDBOX_TOOL_JWKS_URL"))


def secret_key() -> str:
    """Signs the sandbox's lti_message_hint and deep-linking data."""
    return str(current_app.config["SECRET_KEY"])


def secret_box() -> SecretBox:
    """Encrypts the sandbox's private key at rest."""
    box = current_app.extensions["secret_box"]
    assert isinstance(box, SecretBox)
    return box


def ensure_ready() -> None:
    """Set the sandbox up on first use (and register it again if the tool's list lost it)."""
    session = db.session
    urls = sandbox_urls()
    if is_set_up(session) and find_platform(session, urls.issuer, CLIENT_ID) is not None:
        return
    try:
        ensure_sandbox(session, urls.base_url, box=secret_box())
    except IntegrityError:  # another worker set it up at the same moment; theirs is used
        session.rollback()
