"""The tool against a second, independent LTI platform: OpenLearning's `lti1p3platform` (PyPI).

Its own code builds the OIDC login initiation, checks the tool's authentication request, signs the
id_tokens, validates the deep-linking response, issues access tokens from the tool's client
assertions and answers NRPS and AGS; this module gives it what it leaves to an application (a
request adapter, storage for links, roster and gradebook) and serves it over real HTTP on
loopback, where the tool fetches its JWKS and calls its token, NRPS and AGS endpoints. Flask's test
client is the browser. Flow: deep link -> staff launch of the new link -> roster -> judgement ->
score in its gradebook.

Where the library is wrong or incomplete it is wrapped here, each place saying why (the tool is
never bent to its faults):
- the OIDC authentication request: it checks only nonce, state, redirect_uri and client_id are
  there; we also check the redirect URI is the tool's registered one, and the fixed parameters;
- access tokens: it checks only the client assertion's signature; we check iss, sub and aud;
- `validate_deeplinking_resp` checks no `aud`, `iss`, deployment or echoed `data`; we do;
- `update_score` is abstract ("TODO: validate score"): our gradebook validates the score;
- paging adds 1 to the raw `page` query string (a TypeError as its Django adapter passes strings):
  our request adapter passes `page` and `limit` as numbers. NRPS pages only when the tool sends
  `limit` (so the claim's URL carries one) and names the next page in the body, not in `Link`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from lti1p3platform.exceptions import (
    LineItemNotFoundException,
    LtiDeepLinkingResponseException,
    LtiException,
    LtiServiceException,
    PreflightRequestValidationException,
)
from lti1p3platform.lineitem import TLineItem
from lti1p3platform.ltiplatform import AccessTokenResponse, LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.response import Response
from lti1p3platform.score import ActivityProgress, GradeProgress, TScore, UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
    TPage,
)

from lms_plugin import worker
from lms_plugin.commands import cli
from tests.courses import Session
from tests.lti.platform import INSTRUCTOR, LEARNER

BASE = "http://tool.test"
TOOL_LAUNCH = f"{BASE}/lti/launch"
CLIENT_ID = "ol-tool-client"
DEPLOYMENT_ID = "ol-deployment-1"
COURSE = Context(id="ol-course-1", label="OL101", title="Legal Support (OpenLearning)")
TEACHER = {"user_id": "ol-teacher", "name": "Tomasz Teacher", "roles": [INSTRUCTOR]}
LEARNERS = [
    {"user_id": f"ol-learner-{i}", "name": name, "roles": [LEARNER]}
    for i, name in enumerate(["Amara Okafor", "Bea Lindqvist", "Chen Wei", "Dara Quinn"], 1)
]
ROSTER_PAGE = 2  # members a page: five members, three pages


class DictRequest(Request):
    """The library's request adapter (it ships Django and FastAPI ones). It passes query values on
    as they come, then adds 1 to `page` (a TypeError for a string, which is what its Django
    adapter gives): here `page` and `limit` are numbers, as the library needs."""

    def build_metadata(self, request: Any) -> TRequest:
        query = dict(request.get("get_data", {}))
        for key in ("page", "limit"):
            if key in query:
                query[key] = int(query[key])
        return {
            "method": request.get("method", "GET"),
            "form_data": request.get("form_data", {}),
            "get_data": query,
            "headers": request.get("headers", {}),
            "content_type": request.get("content_type"),
            "path": request.get("path", ""),
            "json": request.get("json"),
        }


class PlatformConf(LTI1P3PlatformConfAbstract):
    """The platform's one registration of the tool, with the checks the library leaves out."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]
        self.tool: FlaskClient = kwargs["tool"]
        self.token_url: str = kwargs["token_url"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        assert self._registration is not None
        return self._registration

    def fetch_public_key(self, key_set_url: str) -> Any:
        # The tool is not served over HTTP in this test: its JWKS comes through the test client.
        assert key_set_url == f"{BASE}/lti/jwks"
        answer = self.tool.get("/lti/jwks")
        assert answer.status_code == 200
        return answer.json

    def get_access_token(self, token_request_data: dict[str, Any]) -> AccessTokenResponse:
        answer = super().get_access_token(token_request_data)
        # The library checks only the assertion's signature (and exp): RFC 7523 and the LTI
        # Security Framework also want iss = sub = the client id and aud = the token endpoint.
        assertion = self.tool_validate_and_decode(token_request_data["client_assertion"])
        audience = assertion.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if (
            assertion.get("iss") != CLIENT_ID
            or assertion.get("sub") != CLIENT_ID
            or self.token_url not in audiences
            or not assertion.get("jti")
        ):
            raise LtiException("the client assertion is not for this platform's token endpoint")
        return answer

    def validate_deeplinking_resp(self, token_request_data: dict[str, Any]) -> list[Any]:
        items = super().validate_deeplinking_resp(token_request_data)
        # The library checks the signature, message type and item types only.
        message = self.tool_validate_and_decode(token_request_data["JWT"])
        assert self._registration is not None
        audience = message.get("aud")
        expected = {
            "iss": CLIENT_ID,
            "aud": self._registration.get_iss(),
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT_ID,
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti-dl/claim/data": DEEP_LINK_DATA,
        }
        found = {**message, "aud": audience[0] if isinstance(audience, list) else audience}
        wrong = [claim for claim, value in expected.items() if found.get(claim) != value]
        if wrong or not message.get("nonce"):
            raise LtiDeepLinkingResponseException(f"wrong or missing claims: {wrong}")
        return items


DEEP_LINK_DATA = {"placement": "ol-course-1/week-1"}


class Login(OIDCLoginAbstract):
    """Third-party login initiation: the URL the browser is sent to."""

    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    """The platform's answer to the tool's authentication request: the launch form's fields."""

    def __init__(self, request: Request, conf: PlatformConf, *, user: str, hint: str) -> None:
        super().__init__(request, conf)
        self.expected = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "login_hint": user,
            "lti_message_hint": hint,
            "redirect_uri": TOOL_LAUNCH,  # the tool's registered redirect URI
        }

    def validate_preflight_response(self, preflight_response: dict[str, Any]) -> None:
        super().validate_preflight_response(preflight_response)
        # The library checks presence only; the Security Framework (5.1.1.2) wants these values.
        for name, value in self.expected.items():
            if preflight_response.get(name) != value:
                raise PreflightRequestValidationException(name)

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


@dataclass
class Gradebook:
    """The platform application's storage: placed links, line items, grades, the course roster."""

    members: list[dict[str, Any]]
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    grades: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class Grades(AssignmentsGradesService):
    """AGS over the gradebook. The library leaves score validation to us ("TODO: validate
    score"): a score is checked against AGS 2.0 here, and an old timestamp answered 409."""

    def __init__(self, request: Request, lms: Lms) -> None:
        super().__init__(request, lms.conf, lms.url("/lineitems"))
        self.book = lms.book

    def find_lineitems(
        self,
        page: int = 1,
        limit: int | None = None,
        line_item_id: str | None = None,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> TPage:
        wanted = {"resourceLinkId": resource_link_id, "resourceId": resource_id, "tag": tag}
        found = [
            item
            for item in self.book.items.values()
            if all(value is None or item.get(key) == value for key, value in wanted.items())
        ]
        return {"content": found, "has_next": False}

    def find_lineitem(self, line_item_id: str) -> TLineItem:
        if line_item_id not in self.book.items:
            raise LineItemNotFoundException(line_item_id)
        return cast(TLineItem, self.book.items[line_item_id])

    def create_lineitem(self, creation_data: TLineItem) -> TLineItem:
        raise LtiServiceException("this course's line items are made by deep linking", 403)

    def update_lineitem(self, update_data: TLineItem) -> TLineItem:
        raise LtiServiceException("line items cannot be changed here", 403)

    def delete_lineitem(self, line_item_id: str) -> None:
        raise LtiServiceException("line items cannot be deleted here", 403)

    def get_results(
        self, line_item_id: str, page: int = 1, limit: int | None = None, user_id: str | None = None
    ) -> TPage:
        raise LtiServiceException("results are not offered here", 403)

    def update_score(self, line_item_id: str, score: TScore) -> UpdateScoreStatus:
        self.find_lineitem(line_item_id)
        given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
        stamp = _moment(score.get("timestamp"))
        key = (line_item_id, str(score.get("userId")))
        previous = self.book.grades.get(key)
        problems = [
            name
            for name, ok in (
                ("userId", score.get("userId") in {m["user_id"] for m in self.book.members}),
                # AGS 2.0: scoreGiven is optional; with it, a positive scoreMaximum is required
                ("scoreGiven", given is None or (isinstance(given, int | float) and given >= 0)),
                (
                    "scoreMaximum",
                    given is None or (isinstance(maximum, int | float) and maximum > 0),
                ),
                ("activityProgress", _one_of(score.get("activityProgress"), ActivityProgress)),
                ("gradingProgress", _one_of(score.get("gradingProgress"), GradeProgress)),
                ("timestamp", stamp is not None),
            )
            if not ok
        ]
        if problems or stamp is None:
            raise LtiServiceException("invalid score: " + ", ".join(problems), 400)
        if previous is not None and stamp <= previous["at"]:
            return UpdateScoreStatus.OLD_TIMESTAMP
        self.book.grades[key] = {"score": dict(score), "at": stamp}
        return UpdateScoreStatus.CREATED if previous is None else UpdateScoreStatus.SUCCESS


def _one_of(value: Any, kind: type[ActivityProgress] | type[GradeProgress]) -> bool:
    return value in {member.value for member in kind}


def _moment(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


class Roster(NamesRoleProvisioningService):
    def __init__(self, request: Request, lms: Lms) -> None:
        super().__init__(request, lms.conf, lms.url("/memberships"))
        self.book = lms.book

    def get_member_data_page(
        self,
        page: int = 1,
        limit: int | None = None,
        role: str | None = None,
        since: str | None = None,
    ) -> TPage:
        members = [m for m in self.book.members if role is None or role in m["roles"]]
        size = limit or len(members)
        first = (page - 1) * size
        return {
            "content": [dict(m) for m in members[first : first + size]],
            "has_next": first + size < len(members),
        }

    def get_context_by_id(self) -> Context:
        return COURSE


class Lms:
    """The platform: its registration of the tool, its storage, its HTTP endpoints (JWKS, token,
    NRPS, AGS) on loopback, and the browser-side steps of a launch."""

    def __init__(self, key: rsa.RSAPrivateKey, tool: FlaskClient) -> None:
        self.book = Gradebook(members=[TEACHER, *LEARNERS])
        self.requests: list[tuple[str, str]] = []
        self.failures: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        registration = (
            Registration()
            .set_iss(self.base)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(f"{BASE}/lti/login")
            .set_launch_url(TOOL_LAUNCH)
            .set_deeplink_launch_url(TOOL_LAUNCH)
            .set_tool_key_set_url(f"{BASE}/lti/jwks")
            .set_platform_private_key(private)
            .set_platform_public_key(public)
        )
        self.conf = PlatformConf(registration=registration, tool=tool, token_url=self.url("/token"))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # The browser side.

    def launch(
        self,
        browser: FlaskClient,
        user: dict[str, Any],
        hint: str,
        prepare: Callable[[Launch], None],
    ) -> str:
        """Login initiation, the tool's redirect, the platform's signed launch; returns the
        page the tool sends the browser to."""
        login = Login(None, self.conf)
        login.set_lti_message_hint(hint=hint)
        start = urlsplit(login.initiate_login(user["user_id"]))
        answer = browser.get(start.path, query_string=start.query)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        auth = urlsplit(answer.headers["Location"])
        assert f"{auth.scheme}://{auth.netloc}{auth.path}" == self.url("/auth")
        request = DictRequest({"get_data": dict(parse_qsl(auth.query))})
        message = Launch(request, self.conf, user=user["user_id"], hint=hint)
        message.set_user_data(user["user_id"], user["roles"], full_name=user["name"])
        message.set_launch_context_claim(COURSE.id, context_title=COURSE.title)
        prepare(message)
        form = message.lti_launch()
        assert form["launch_url"] == TOOL_LAUNCH
        launched = browser.post(
            "/lti/launch", data={"id_token": form["id_token"], "state": form["state"]}
        )
        assert launched.status_code == 303, launched.get_data(as_text=True)
        return str(launched.headers["Location"])

    def deep_link_return(self, token: str) -> None:
        """What the platform does with the tool's answer: validate it, place the links and make
        their line items."""
        for item in self.conf.validate_deeplinking_resp({"JWT": token}):
            link_id = f"ol-link-{len(self.book.links) + 1}"
            self.book.links[link_id] = item
            if "lineItem" in item:
                item_id = self.url(f"/lineitems/{len(self.book.items) + 1}")
                self.book.items[item_id] = {
                    **item["lineItem"],
                    "id": item_id,
                    "resourceLinkId": link_id,
                }

    # The services, over HTTP.

    def answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, Any]:
        self.requests.append((method, path + ("?" + query if query else "")))
        if path == "/jwks":
            return 200, "application/json", self.conf.get_jwks()
        if path == "/token" and method == "POST":
            try:
                token = self.conf.get_access_token(dict(parse_qsl(body.decode())))
            except Exception:  # the library raises assorted errors for a bad assertion
                return 400, "application/json", {"error": "invalid_client"}
            return 200, "application/json", token
        request = DictRequest(
            {
                "method": method,
                "get_data": dict(parse_qsl(query)),
                "headers": headers,
                "content_type": headers.get("Content-Type"),
                "path": path,
                "json": json.loads(body) if body else None,
            }
        )
        if path == "/memberships":
            roster = Roster(request, self)
            return self._reply(roster.handle_resp(roster.handle_get_members))
        scores = re.fullmatch(r"(/lineitems/\d+)/scores", path)
        if scores and method == "POST":
            if headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                return 415, "application/json", {"error": "a score must be a score"}
            grades = Grades(request, self)
            return self._reply(
                grades.handle_resp(grades.handle_update_score, line_item_id=self.url(scores[1]))
            )
        if path == "/lineitems":
            grades = Grades(request, self)
            if method == "POST":
                return self._reply(grades.handle_resp(grades.handle_create_lineitem))
            return self._reply(grades.handle_resp(grades.handle_get_lineitems))
        return 404, "application/json", {"error": "not found"}

    @staticmethod
    def _reply(response: Response) -> tuple[int, str, Any]:
        if response.result is None and response.code >= 400:
            return response.code, "application/json", {"error": response.message}
        return response.code, response.media_type, response.result

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        lms = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    status, media, result = lms.answer(
                        self.command, parts.path, parts.query, dict(self.headers.items()), body
                    )
                except Exception as error:  # reported by the test
                    lms.failures.append(f"{self.command} {self.path}: {error!r}")
                    status, media, result = 500, "application/json", {"error": "failed"}
                data = b"" if result is None else json.dumps(result).encode()
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def lms(app: Flask, platform_key: rsa.RSAPrivateKey) -> Iterator[Lms]:
    """The platform, registered with the tool as an administrator would (`platform add`)."""
    platform = Lms(platform_key, app.test_client())
    registered = app.test_cli_runner().invoke(
        cli,
        [
            *("platform", "add", "--issuer", platform.base, "--name", "lti1p3platform"),
            *("--client-id", CLIENT_ID, "--deployment-id", DEPLOYMENT_ID),
            *("--auth-login-url", platform.url("/auth"), "--jwks-url", platform.url("/jwks")),
            *("--auth-token-url", platform.url("/token")),
        ],
    )
    assert registered.exit_code == 0, registered.output
    yield platform
    platform.close()


def found(pattern: str, page: str) -> str:
    match = re.search(pattern, page)
    assert match, page
    return unescape(match.group(1))


def add_activity(browser: FlaskClient, lms: Lms, version_id: int) -> None:
    """Deep linking: the teacher adds the tool with two levels in scope; the platform validates
    the answer and places the link."""

    def deep_linking(message: Launch) -> None:
        message.set_dl(
            lms.url("/deep-link-return"),
            title="Add an activity",
            accept_types={"ltiResourceLink"},
            extra_data=DEEP_LINK_DATA,
        )

    chooser = browser.get(lms.launch(browser, TEACHER, "add-activity", deep_linking)).text
    returning = browser.post(
        found(r'<form method="post" action="([^"]+)" class="chooser">', chooser),
        data={
            "csrf_token": found(r'name="csrf_token" value="([^"]+)"', chooser),
            "framework": str(version_id),
            "levels": ["emerging", "developing"],
        },
    )
    assert returning.status_code == 200, returning.text
    assert found(r'action="([^"]+)" id="deep-link-return"', returning.text) == lms.url(
        "/deep-link-return"
    )
    lms.deep_link_return(found(r'name="JWT" value="([^"]+)"', returning.text))


def test_deep_link_staff_launch_roster_judgement_and_score_in_its_gradebook(
    app: Flask, lms: Lms, version_id: int
) -> None:
    browser = app.test_client()
    add_activity(browser, lms, version_id)
    [(link_id, item)] = lms.book.links.items()
    [(line_item_id, line_item)] = lms.book.items.items()
    assert item["type"] == "ltiResourceLink" and item["url"] == TOOL_LAUNCH
    assert item["custom"] == {"framework": str(version_id), "levels": "emerging,developing"}
    assert line_item["scoreMaximum"] == 2 and line_item["resourceLinkId"] == link_id

    # The teacher opens the new link: the launch carries NRPS and AGS and asks for the roster.
    def open_link(message: Launch) -> None:
        message.set_launch_url(item["url"])
        message.set_resource_link_claim(link_id, title=item.get("title"))
        message.set_custom_parameters_claim(item["custom"])
        message.set_ags(lms.url("/lineitems"), line_item_id, allow_creating_lineitems=False)
        message.set_nrps(lms.url(f"/memberships?limit={ROSTER_PAGE}"))

    grid_url = lms.launch(browser, TEACHER, link_id, open_link)
    grid_page = browser.get(grid_url).text
    staff = Session(
        browser,
        grid_url.rsplit("/", 1)[1],
        found(r'name="csrf-token" content="([^"]+)"', grid_page),
    )

    # The worker reads the roster, page by page as the body's `next` says.
    with app.app_context():
        assert worker.sync_rosters_once().delivered == 3
    roster_calls = [path for method, path in lms.requests if path.startswith("/memberships")]
    assert roster_calls == [
        f"/memberships?limit={ROSTER_PAGE}",
        f"/memberships?limit={ROSTER_PAGE}&page=2",
        f"/memberships?limit={ROSTER_PAGE}&page=3",
    ]
    grid = staff.get("/api/v1/grid").json
    assert grid is not None
    learners = {learner["name"]: learner["id"] for learner in grid["learners"]}
    assert set(learners) == {m["name"] for m in LEARNERS}  # none of them ever launched

    # The teacher judges a learner: the emerging level is achieved, one of two in scope.
    emerging = next(level for level in grid["levels"] if level["key"] == "emerging")
    judged = staff.judge(
        *[(learners["Amara Okafor"], s["id"], "met") for s in emerging["statements"]]
    )
    assert judged.status_code == 201, judged.json

    # The worker posts the score to the platform's AGS; it lands in its gradebook.
    with app.app_context():
        assert worker.deliver_scores_once().delivered == 1
    assert list(lms.book.grades) == [(line_item_id, "ol-learner-1")]
    grade = lms.book.grades[(line_item_id, "ol-learner-1")]["score"]
    assert grade["scoreGiven"] == 1 and grade["scoreMaximum"] == 2
    assert grade["activityProgress"] == "InProgress"
    assert grade["gradingProgress"] == "FullyGraded"
    assert grade["comment"].startswith("Achieved: Emerging")
    assert list(lms.book.items) == [line_item_id]  # one column, the one deep linking made
    assert ("POST", "/token") in lms.requests
    assert lms.failures == []
