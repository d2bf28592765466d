"""Outgoing HTTP for LTI: every request has a timeout (pylti1p3 and requests set none)."""

from __future__ import annotations

from typing import Any

import requests

DEFAULT_TIMEOUT = (3.05, 10)
USER_AGENT = "lms-plugin (LTI 1.3 tool)"


class TimeoutSession(requests.Session):
    """A requests session whose requests time out unless told otherwise."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)
