"""LTI Dynamic Registration 1.0 (what Moodle 4.1+ and Canvas use), only through an operator's
registration link (`lms-plugin platform invite`): read the platform's OpenID configuration, register
the tool with it, and store the resulting platform, live at once.

The platform's hosts are not compared: Canvas names its issuer `https://canvas.instructure.com`
while its configuration and registration endpoint sit on the institution's host. What protects the
tool is the single-use invite, https (unless `ALLOW_HTTP_PLATFORMS`), the platform's registration
token, size and time limits, and that a registration never takes over a platform already known.
A dynamically registered platform accepts any deployment: Canvas's answer names none (they are made
at install, one per account or course), so each is recorded from its first validly signed launch.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from lms_plugin.lti import invites, registrations, tool_metadata
from lms_plugin.lti.models import Platform
from lms_plugin.lti.registrations import PlatformSettings

MAX_DOCUMENT_BYTES = 256 * 1024
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


class RegistrationError(ValueError):
    """Dynamic registration cannot go on; the message is safe to show."""


class InviteRefused(Exception):
    """The registration link is missing, used or expired: nothing was fetched or stored."""


def register(
    session: Session,
    http: requests.Session,
    base_url: str,
    invite_token: str | None,
    openid_configuration_url: str,
    registration_token: str | None,
    *,
    allow_http: bool,
) -> Platform:
    """Run the whole registration through the invite with this token, and use the invite up.

    Nothing is fetched unless the invite is usable; the invite's name, if any, names the platform.
    The invite is claimed only once the platform has accepted the tool, in the transaction that
    stores the platform, so a platform that fails leaves it usable, and of two concurrent uses only
    one registers. Flushes; the caller commits.
    """
    invite = invites.usable_invite(session, invite_token)
    if invite is None:
        raise InviteRefused()
    settings, deployment_ids = _negotiate(
        http, base_url, openid_configuration_url, registration_token, allow_http
    )
    if invite.name:
        settings = dataclasses.replace(settings, name=invite.name)
    if registrations.find_platform(session, settings.issuer, settings.client_id) is not None:
        raise RegistrationError(
            "the platform answered with an issuer and client id already registered with this tool"
        )
    if not invites.claim(session, invite):
        raise InviteRefused()
    platform = registrations.add_platform(session, settings, deployment_ids)
    invite.platform_id = platform.id
    session.flush()
    return platform


def _negotiate(
    http: requests.Session,
    base_url: str,
    openid_configuration_url: str,
    registration_token: str | None,
    allow_http: bool,
) -> tuple[PlatformSettings, list[str]]:
    """Read the platform's configuration and register the tool with it (no database access)."""
    check_url(openid_configuration_url, allow_http, "openid_configuration")
    config = _fetch_json(http, "GET", openid_configuration_url)
    issuer = _field(config, "issuer")
    check_url(issuer, allow_http, "issuer")
    platform_config = config.get(PLATFORM_CONFIGURATION)
    family = ""
    if isinstance(platform_config, Mapping):
        family = str(platform_config.get("product_family_code") or "")
    endpoints = {
        "authorization_endpoint": _authorization_endpoint(config, issuer, family),
        **{name: _field(config, name) for name in ("token_endpoint", "jwks_uri")},
        "registration_endpoint": _field(config, "registration_endpoint"),
    }
    for name, url in endpoints.items():
        check_url(url, allow_http, name)
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    answer = _fetch_json(
        http,
        "POST",
        endpoints["registration_endpoint"],
        json=tool_metadata.registration_metadata(base_url),
        headers=headers,
    )
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("the platform's answer has no client_id")
    tool_config = answer.get(TOOL_CONFIGURATION)
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, Mapping) else None
    settings = PlatformSettings(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=endpoints["authorization_endpoint"],
        auth_token_url=endpoints["token_endpoint"],
        jwks_url=endpoints["jwks_uri"],
        name=family[:255],
        any_deployment=True,
    )
    deployments = (
        [str(deployment_id)] if isinstance(deployment_id, str | int) and deployment_id else []
    )
    return settings, deployments


def _authorization_endpoint(config: Mapping[str, Any], issuer: str, family: str) -> str:
    """The OIDC authorization endpoint; some Moodle versions leave it out of their configuration,
    and Moodle's is always `<wwwroot>/mod/lti/auth.php` (its issuer is its wwwroot)."""
    if not config.get("authorization_endpoint") and family.lower() == "moodle":
        return issuer.rstrip("/") + "/mod/lti/auth.php"
    return _field(config, "authorization_endpoint")


def check_url(url: str, allow_http: bool, what: str) -> None:
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise RegistrationError(f"{what} must be an absolute https URL, got {url[:200]!r}")


def _field(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise RegistrationError(f"the platform's OpenID configuration has no {name}")
    return value


def _fetch_json(http: requests.Session, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = http.request(method, url, stream=True, allow_redirects=False, **kwargs)
        body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise RegistrationError(f"{method} {url} failed ({type(error).__name__})") from None
    if not response.ok:
        raise RegistrationError(f"{method} {url} answered {response.status_code}")
    if len(body) > MAX_DOCUMENT_BYTES:
        raise RegistrationError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise RegistrationError(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise RegistrationError(f"{url} did not answer a JSON object")
    return document
