"""Cookies inside an LMS iframe.

Over HTTPS every cookie the tool sets in a launch is `SameSite=None; Secure; Partitioned`: the
third-party context of an LMS iframe needs SameSite=None, and Partitioned (CHIPS) keeps the cookie
working where browsers block unpartitioned third-party cookies. Where even that fails, the login
page checks in the browser and offers to open the tool in a new window (first-party).
"""

from __future__ import annotations

from typing import Any

from pylti1p3.contrib.flask import FlaskCookieService

NEW_WINDOW_PARAM = "lti1p3_new_window"


class PartitionedCookieService(FlaskCookieService):  # type: ignore[misc]
    """pylti1p3's cookie service, adding `Partitioned` to its secure cookies."""

    def update_response(self, response: Any) -> None:
        for key, cookie in self._cookie_data_to_set.items():
            secure = bool(self._request.is_secure())
            response.set_cookie(
                key=key,
                value=cookie["value"],
                max_age=cookie["exp"],
                secure=secure,
                path="/",
                httponly=True,
                samesite="None" if secure else "Lax",
                partitioned=secure,
            )


def needs_cookie_check(headers: Any, values: Any) -> bool:
    """A login inside an iframe, not yet checked: the browser must show it can keep cookies."""
    return headers.get("Sec-Fetch-Dest") == "iframe" and not values.get(NEW_WINDOW_PARAM)
