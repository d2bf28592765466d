"""Assignment and Grade Services 2.0: find or create the line item, post scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from lms_plugin.lti import claims
from lms_plugin.lti.platform_api import PlatformClient, PlatformServiceError

TAG = "competency-levels"


# Canvas answers these to a line item naming a resourceLinkId it made no assignment for (a link
# placed through the rich-content editor: 412) or does not know (404).
UNBOUND_LINK_STATUSES = (404, 412)


def find_or_create_line_item(
    client: PlatformClient,
    endpoint: Mapping[str, Any],
    *,
    resource_link_id: str,
    label: str,
    score_maximum: float,
    resource_id: str,
    tag: str = TAG,
) -> str:
    """The URL of the line item for this resource link: the launch's own, the one bound to this
    link with this `resourceId` (as deep linking made it), or a new one. A platform that refuses
    to bind a line item to the link gets one without `resourceLinkId`."""
    if isinstance(endpoint.get("lineitem"), str):
        return str(endpoint["lineitem"])
    url = endpoint.get("lineitems")
    scopes = endpoint.get("scope", [])
    if not isinstance(url, str) or claims.SCOPE_LINEITEM not in scopes:
        raise PlatformServiceError("the platform grants no line item service for this link")
    found = _find_line_item(client, url, resource_link_id, resource_id)
    if found is not None:
        return found
    item = {"scoreMaximum": score_maximum, "label": label, "resourceId": resource_id, "tag": tag}
    try:
        created = _create(client, url, {**item, "resourceLinkId": resource_link_id})
    except PlatformServiceError as error:
        if error.status not in UNBOUND_LINK_STATUSES:
            raise
        created = _create(client, url, item)
    return created


def _find_line_item(
    client: PlatformClient, url: str, resource_link_id: str, resource_id: str
) -> str | None:
    """The line item bound to this link with this `resourceId`, if the platform lists one (a
    platform that does not know the link yet may answer 404: nothing found)."""
    query = _with_query(
        url, urlencode({"resource_link_id": resource_link_id, "resource_id": resource_id})
    )
    try:
        for page in client.pages(query, [claims.SCOPE_LINEITEM], claims.MEDIA_LINEITEM_CONTAINER):
            for item in page or []:
                if (
                    isinstance(item, Mapping)
                    and item.get("resourceId") == resource_id
                    and item.get("resourceLinkId") == resource_link_id
                    and isinstance(item.get("id"), str)
                ):
                    return str(item["id"])
    except PlatformServiceError as error:
        if error.status != 404:
            raise
    return None


def _create(client: PlatformClient, url: str, item: Mapping[str, Any]) -> str:
    created = client.send_json("POST", url, [claims.SCOPE_LINEITEM], item, claims.MEDIA_LINEITEM)
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
