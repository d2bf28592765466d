"""A platform's token endpoint and gradebook (AGS) as Canvas and Moodle answer, installed as the
tool's outgoing HTTP session: tokens that expire or are revoked (401), line items bound to
resource links (Canvas: 412 for a link with no assignment), and scores refused with 409 when their
timestamp is not later, in whole seconds, than the stored grade's (Moodle's scores.php)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from lms_plugin.lti.http import TimeoutSession

TOKEN_URL = "https://lms.example.edu/token"
LINE_ITEMS = "https://lms.example.edu/api/lti/courses/7/line_items"


@dataclass
class Call:
    method: str
    url: str
    body: Any


@dataclass
class Grade:
    score_given: float | None
    timemodified: int  # whole seconds, as Moodle stores it


@dataclass
class FakeGradebook:
    expires_in: Any = 3600
    unbound_links: set[str] = field(default_factory=set)  # Canvas: no assignment -> 412
    tokens_issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    items: list[dict[str, Any]] = field(default_factory=list)
    grades: dict[tuple[str, str], Grade] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    always_conflict: bool = False
    refuse_creates: int | None = None  # answer every line item POST with this status
    ignore_filters: bool = False  # list every line item, whatever the query asks
    page_size: int | None = None  # list in pages with a `Link: rel="next"` header
    loop_pages: bool = False  # every page's next link points back at the first page

    real: TimeoutSession = field(default_factory=TimeoutSession)  # anything else (JWKS)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if not url.startswith("https://lms.example.edu/"):
            response: requests.Response = self.real.request(method, url, **kwargs)
            return response
        body = kwargs.get("json", kwargs.get("data"))
        self.calls.append(Call(method, url, body))
        if url == TOKEN_URL:
            token = f"token-{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
            return answer(200, {"access_token": token, "expires_in": self.expires_in})
        bearer = kwargs.get("headers", {}).get("Authorization", "")
        if bearer.removeprefix("Bearer ") not in self.tokens_issued or bearer[7:] in self.revoked:
            return answer(401, {"error": "invalid_token"})
        path = url.split("?", 1)[0]
        if path == LINE_ITEMS and method == "GET":
            return self._list(url)
        if path == LINE_ITEMS and method == "POST":
            return self._create(body)
        if path.endswith("/scores") and method == "POST":
            return self._score(path.removesuffix("/scores"), body)
        return answer(404, {"error": "not found"})

    def add_item(self, **item: Any) -> dict[str, Any]:
        created = {**item, "id": f"{LINE_ITEMS}/{len(self.items) + 1}"}
        self.items.append(created)
        return created

    def posts(self, suffix: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.url.endswith(suffix)]

    def _list(self, url: str) -> requests.Response:
        query = parse_qs(urlsplit(url).query)
        found = self.items if self.ignore_filters else self._find(query)
        if self.page_size is None:
            return answer(200, found)
        page = int(query.get("page", ["1"])[0])
        chunk = found[(page - 1) * self.page_size : page * self.page_size]
        more = self.loop_pages or page * self.page_size < len(found)
        following = 1 if self.loop_pages else page + 1
        link = {"Link": f'<{LINE_ITEMS}?page={following}>; rel="next"'} if more else {}
        return answer(200, chunk, link)

    def _find(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        found = self.items
        for param, key in (("resource_link_id", "resourceLinkId"), ("resource_id", "resourceId")):
            if param in query:
                found = [i for i in found if i.get(key) == query[param][0]]
        return found

    def _create(self, body: dict[str, Any]) -> requests.Response:
        if self.refuse_creates is not None:
            return answer(self.refuse_creates, {"error": "refused"})
        link = body.get("resourceLinkId")
        if link is not None and link in self.unbound_links:
            return answer(412, {"error": "The specified LTI link ID has no line items"})
        return answer(200, self.add_item(**body))

    def _score(self, item_url: str, body: dict[str, Any]) -> requests.Response:
        if not any(i["id"] == item_url for i in self.items):
            return answer(404, {"error": "no such line item"})
        moment = int(dt.datetime.fromisoformat(body["timestamp"]).timestamp())
        key = (item_url, body["userId"])
        stored = self.grades.get(key)
        if self.always_conflict or (stored is not None and moment <= stored.timemodified):
            return answer(409, {"error": "Refusing score with an earlier timestamp for item"})
        self.grades[key] = Grade(body.get("scoreGiven"), moment)
        return answer(200, None)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.headers.update(headers or {})
    return response
