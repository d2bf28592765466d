"""Deep Linking 2.0: the signed LtiDeepLinkingResponse that places the tool in a course."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.keys import SigningKey
from lms_plugin.lti import ags, claims


def placement_resource(
    version: FrameworkVersion, levels: Sequence[str] | None, launch_url: str
) -> DeepLinkResource:
    """An `ltiResourceLink` whose custom parameters carry the placement, with a line item whose
    maximum is the number of levels in scope (a score is the number achieved)."""
    in_scope = [lvl for lvl in version.levels if levels is None or lvl.key in levels]
    title = f"{version.title} — competencies"
    if levels is not None:
        title += " (" + ", ".join(lvl.label for lvl in in_scope) + ")"
    custom = {"framework": str(version.id)}
    if levels is not None:
        custom["levels"] = ",".join(lvl.key for lvl in in_scope)
    line_item = (
        LineItem()
        .set_score_maximum(len(in_scope))
        .set_label(title[:250])
        .set_resource_id(line_item_resource_id(version, levels))
        .set_tag(ags.TAG)
    )
    return (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(title[:250])
        .set_custom_params(custom)
        .set_lineitem(line_item)
    )


def line_item_resource_id(version: FrameworkVersion, levels: Sequence[str] | None) -> str:
    """The `resourceId` of a placement's line item: given at deep linking, searched for when a
    launch names no line item, so both find the same gradebook column."""
    keys = [lvl.key for lvl in version.levels if levels is None or lvl.key in levels]
    return f"framework-{version.id}-" + "-".join(keys)


def response_jwt(
    *,
    client_id: str,
    issuer: str,
    deployment_id: str,
    settings: Mapping[str, Any],
    resources: Sequence[DeepLinkResource],
    key: SigningKey,
) -> str:
    """The LtiDeepLinkingResponse, signed with the tool's current LTI key."""
    now = int(time.time())
    message: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "iat": now,
        "exp": now + 600,
        "nonce": secrets.token_urlsafe(24),
        claims.DEPLOYMENT_ID: deployment_id,
        claims.MESSAGE_TYPE: claims.DEEP_LINKING_RESPONSE,
        claims.VERSION: "1.3.0",
        claims.CONTENT_ITEMS: [resource.to_dict() for resource in resources],
    }
    if "data" in settings:
        message[claims.DEEP_LINKING_DATA] = settings["data"]
    return jwt.encode(message, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
