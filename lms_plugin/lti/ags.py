"""Assignment and Grade Services 2.0: find or create the line item, post scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lms_plugin.lti import claims
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError


def find_or_create_line_item(
    client: PlatformClient,
    endpoint: Mapping[str, Any],
    *,
    resource_link_id: str,
    label: str,
    score_maximum: float,
    resource_id: str,
    tag: str = "competency-levels",
) -> str:
    """The URL of the line item for this resource link: the launch's own, one found by
    `resourceId`, or a new one."""
    if isinstance(endpoint.get("lineitem"), str):
        return str(endpoint["lineitem"])
    url = endpoint.get("lineitems")
    scopes = endpoint.get("scope", [])
    if not isinstance(url, str) or claims.SCOPE_LINEITEM not in scopes:
        raise PlatformServiceError("the platform grants no line item service for this link")
    query = _with_query(url, f"resource_id={resource_id}")
    for page in client.pages(query, [claims.SCOPE_LINEITEM], claims.MEDIA_LINEITEM_CONTAINER):
        for item in page or []:
            if isinstance(item, Mapping) and item.get("resourceId") == resource_id:
                return str(item["id"])
    created = client.send_json(
        "POST",
        url,
        [claims.SCOPE_LINEITEM],
        {
            "scoreMaximum": score_maximum,
            "label": label,
            "resourceId": resource_id,
            "resourceLinkId": resource_link_id,
            "tag": tag,
        },
        claims.MEDIA_LINEITEM,
    )
    if not isinstance(created, Mapping) or not isinstance(created.get("id"), str):
        raise PlatformServiceError("the platform did not return the new line item")
    return str(created["id"])


def post_score(
    client: PlatformClient,
    line_item_url: str,
    *,
    user_id: str,
    score_given: float,
    score_maximum: float,
    comment: str,
    timestamp: dt.datetime,
) -> None:
    """Post one learner's score to a line item (`<lineitem>/scores`)."""
    client.send_json(
        "POST",
        scores_url(line_item_url),
        [claims.SCOPE_SCORE],
        {
            "userId": user_id,
            "scoreGiven": score_given,
            "scoreMaximum": score_maximum,
            "comment": comment,
            "timestamp": timestamp.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
            "activityProgress": "Completed" if score_given >= score_maximum else "InProgress",
            "gradingProgress": "FullyGraded",
        },
        claims.MEDIA_SCORE,
    )


def scores_url(line_item_url: str) -> str:
    """`/lineitems/7?x=1` -> `/lineitems/7/scores?x=1` (the path gets the suffix, not the query)."""
    parts = urlsplit(line_item_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _with_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
