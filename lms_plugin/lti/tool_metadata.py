"""How the tool describes itself to platforms: the Canvas developer-key JSON and the LTI Dynamic
Registration client metadata (the same URLs, scopes, claims and custom parameters in both)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lms_plugin.lti import claims

TITLE = "Competency Credentials"
DESCRIPTION = (
    "Judge learners against occupational competency frameworks; issue Open Badges 3.0 "
    "credentials and xAPI records for every level achieved."
)
CUSTOM_PARAMETERS = {"context_history": "$Context.id.history"}
CLAIMS = ["iss", "sub", "name", "given_name", "family_name", "email"]
# Only placements for which Canvas makes a gradebook column (its ALLOW_LINE_ITEM_PLACEMENTS):
# a link placed through the rich-content editor (`editor_button`) gets none, and its scores would
# have nowhere to go.
CANVAS_PLACEMENTS = ("assignment_selection", "link_selection")


def urls(base_url: str) -> dict[str, str]:
    return {
        "login": f"{base_url}/lti/login",
        "launch": f"{base_url}/lti/launch",
        "jwks": f"{base_url}/lti/jwks",
        "register": f"{base_url}/lti/register",
        "config": f"{base_url}/lti/config.json",
    }


def canvas_configuration(base_url: str) -> dict[str, Any]:
    """The JSON a Canvas administrator pastes (or points to) when creating an LTI developer key."""
    u = urls(base_url)
    domain = urlsplit(base_url).hostname or ""
    placement = {
        "text": TITLE,
        "enabled": True,
        "message_type": claims.DEEP_LINKING_REQUEST,
        "target_link_uri": u["launch"],
    }
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": u["login"],
        "target_link_uri": u["launch"],
        "public_jwk_url": u["jwks"],
        "scopes": list(claims.TOOL_SCOPES),
        "custom_fields": dict(CUSTOM_PARAMETERS),
        "extensions": [
            {
                "domain": domain,
                "tool_id": "competency-credentials",
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": TITLE,
                    "placements": [{**placement, "placement": name} for name in CANVAS_PLACEMENTS],
                },
            }
        ],
    }


def registration_metadata(base_url: str) -> dict[str, Any]:
    """The OpenID client registration a tool POSTs in LTI Dynamic Registration 1.0."""
    u = urls(base_url)
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": u["login"],
        "redirect_uris": [u["launch"]],
        "client_name": TITLE,
        "jwks_uri": u["jwks"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(claims.TOOL_SCOPES),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": urlsplit(base_url).netloc,
            "description": DESCRIPTION,
            "target_link_uri": u["launch"],
            "custom_parameters": dict(CUSTOM_PARAMETERS),
            "claims": CLAIMS,
            "messages": [
                {
                    "type": claims.DEEP_LINKING_REQUEST,
                    "target_link_uri": u["launch"],
                    "label": TITLE,
                    # the IMS name (Moodle) and Canvas's own; never the rich-text editor
                    "placements": ["ContentArea", *CANVAS_PLACEMENTS],
                    "supported_types": ["ltiResourceLink"],
                },
                {"type": claims.RESOURCE_LINK_REQUEST, "target_link_uri": u["launch"]},
            ],
        },
    }
