"""The pages of the security work in Chromium, at the top level and framed as an LMS shows the
tool: registration (refused, explained, done), the cookieless launch's continue page, a launch
refused for want of a course role, the 429 answer to too many credential copies, the verify page's
plain answers, and the grid in the sandbox LMS's frame. Each is read for its words and checked by
axe-core in its own document.

The tool runs in-process (`tool`, on both databases) with a pretend LMS's pages beside it on the
same origin, as the sandbox LMS is (`PretendLms`): an authorization endpoint answering the launch
form, and a course page that frames the tool and keeps LTI platform storage (`lti.put_data`,
`lti.get_data`) for it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape, unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Flask, Response, request
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Frame, Page, Route, expect
from werkzeug.serving import make_server

from lms_plugin import worker
from lms_plugin.credentials import views as credential_pages
from lms_plugin.database import db
from lms_plugin.frameworks import services as frameworks
from lms_plugin.frameworks.parsing import read_framework_file
from lms_plugin.lti import claims, rate_limit
from lms_plugin.lti.invites import create_invite
from tests.browser import check_accessibility
from tests.builders import SEED_FILES
from tests.courses import Session
from tests.live_server import SERVER_LOGS, free_port
from tests.lti.platform import INSTRUCTOR, KeySetServer, LtiPlatform
from tests.lti.test_registration import FakeRegistrationPlatform

NARROW = {"width": 390, "height": 844}
# A role outside the course: institution roles grant nothing in the tool.
INSTITUTION_FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
STORAGE_TARGET = "_parent"
# How long a grid page waits for the worker to read the class list and then shows it by itself.
ROSTER_WAIT_MS = 15_000

# The LMS's course page: the tool in a frame, and the platform's storage for it (answering only
# its own origin, as the tool's pages name it), noting when the tool asks to be closed.
COURSE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test LMS course</title>
<style>body { margin: 0; font-family: sans-serif; } h1 { font-size: 1rem; margin: .5rem; }
iframe { display: block; width: 100%; height: 90vh; border: 0; border-top: 2px solid #666; }</style>
</head><body><main><h1>Test LMS course</h1>BODY</main>
<script>
  var kept = {};
  window.closeAsked = false;
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.origin !== location.origin) { return; }
    if (data.subject === "org.imsglobal.lti.close") { window.closeAsked = true; return; }
    if (data.subject === "lti.put_data") { kept[data.key] = data.value; }
    if (data.subject === "lti.put_data" || data.subject === "lti.get_data") {
      event.source.postMessage({subject: data.subject + ".response", message_id: data.message_id,
                                key: data.key, value: kept[data.key]}, event.origin);
    }
  });
</script></body></html>"""


def form_html(action: str, fields: dict[str, str], target: str, script: bool) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    submit = "<script>document.forms[0].submit()</script>" if script else ""
    return (
        f'<form method="post" action="{escape(action)}" target="{target}">{inputs}'
        f"<button>Send the launch</button></form>{submit}"
    )


class PretendLms:
    """An LMS's pages for the tool, served beside it under /test-lms (same origin, as the sandbox
    LMS is): the authorization endpoint answers a form posting the id_token with the claims set
    for the next launch; the course page shows `course_body` (the tool's frame)."""

    def __init__(self, url: str, platform: LtiPlatform) -> None:
        self.url = url
        self.platform = platform
        self.claims: dict[str, Any] = {}
        self.cookieless = False
        self.course_body = ""
        platform.auth_login_url = f"{url}/test-lms/auth"

    def blueprint(self) -> Blueprint:
        pages = Blueprint("test_lms", __name__, url_prefix="/test-lms")
        pages.add_url_rule("/auth", view_func=self.authorize)
        pages.add_url_rule(
            "/course", view_func=lambda: COURSE_PAGE.replace("BODY", self.course_body)
        )
        return pages

    def authorize(self) -> Response:
        query = request.args
        token = self.platform.sign(self.platform.claims(query["nonce"], self.url, **self.claims))
        fields = {"id_token": token, "state": query["state"]}
        if self.cookieless:
            fields["lti_storage_target"] = STORAGE_TARGET
        page = Response(form_html(query["redirect_uri"], fields, "_self", script=True))
        if self.cookieless:
            # A browser that keeps no cookie in the LMS frame: the login's cookie is gone.
            page.delete_cookie(f"lti1p3-{query['state']}", path="/")
        return page


@dataclass
class Tool:
    """The tool served over loopback HTTP, the platform registered with it and its LMS pages."""

    app: Flask
    url: str
    platform: LtiPlatform
    lms_pages: PretendLms


@pytest.fixture
def tool(make_app: Any, platform_key: rsa.RSAPrivateKey, keyset: KeySetServer) -> Iterator[Tool]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(BASE_URL=url, ALLOW_HTTP_PLATFORMS=True)
    platform = LtiPlatform(platform_key, keyset)
    lms_pages = PretendLms(url, platform)
    app.register_blueprint(lms_pages.blueprint())
    platform.register(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Tool(app, url, platform, lms_pages)
    server.shutdown()
    thread.join()
    server.server_close()


class Browsing:
    """One browser context on the tool: tool pages top-level or in the LMS course page's frame."""

    def __init__(self, context: BrowserContext, tool: Tool) -> None:
        self.context = context
        self.tool = tool
        self.page = context.new_page()

    def open(self, path: str, framed: bool) -> Frame:
        """Open a tool address top-level, or in the course page's frame; returns that frame."""
        if not framed:
            self.page.goto(path)
            return self.page.main_frame
        self.tool.lms_pages.course_body = (
            f'<iframe name="tool" title="The tool" src="{escape(path)}"></iframe>'
        )
        self.page.goto("/test-lms/course")
        frame = self.page.frame(name="tool")
        assert frame is not None
        return frame

    def post_to_frame(self, action: str, fields: dict[str, str]) -> Frame:
        """The course page posts a form into its (empty) frame when its button is pressed."""
        self.tool.lms_pages.course_body = (
            form_html(action, fields, "tool", script=False)
            + '<iframe name="tool" title="The tool"></iframe>'
        )
        self.page.goto("/test-lms/course")
        self.page.get_by_role("button", name="Send the launch").click()
        frame = self.page.frame(name="tool")
        assert frame is not None
        return frame

    def launch(self, framed: bool, *, cookieless: bool = False, **claims_: Any) -> Frame:
        """A whole launch with these claims, from the OIDC login on."""
        self.tool.lms_pages.claims = claims_
        self.tool.lms_pages.cookieless = cookieless
        platform = self.tool.platform
        query = {
            "iss": platform.issuer,
            "login_hint": "hint",
            "target_link_uri": f"{self.tool.url}/lti/launch",
            "client_id": platform.client_id,
            "lti_deployment_id": platform.deployment_id,
        }
        if cookieless:
            query["lti_storage_target"] = STORAGE_TARGET
        return self.open("/lti/login?" + urlencode(query), framed)


@pytest.fixture
def lms(browser: Browser, tool: Tool) -> Iterator[Browsing]:
    context = browser.new_context(base_url=tool.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    yield Browsing(context, tool)
    context.close()


def expect_staff_page(frame: Frame) -> None:
    """The evaluators' page opened (the course has no learner yet, so its grid has no rows)."""
    expect(frame.get_by_role("search", name="Learners")).to_be_visible()
    expect(frame.get_by_text("No learner is known yet")).to_be_visible()


def assert_fits(frame: Frame) -> None:
    """Nothing is cut off sideways: the document is no wider than its window."""
    overflow = frame.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{frame.url} is {overflow}px wider than its window"


def assert_plain(frame: Frame) -> None:
    """No traceback, JSON or library message in the page's words."""
    text = frame.locator("body").inner_text()
    for leak in ("Traceback", "{", "Exception", "Error:", "werkzeug", "pylti1p3"):
        assert leak not in text, f"{leak!r} on {frame.url}:\n{text}"


def placed_custom(tool: Tool) -> dict[str, Any]:
    """A seed framework imported, and the custom claim that places it (Emerging level)."""
    with tool.app.app_context():
        version = frameworks.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
        version_id = version[0].version.id
    return {claims.CUSTOM: {"framework": str(version_id), "levels": "emerging"}}


def staff_session(tool: Tool, **claims_: Any) -> Session:
    """An instructor's launch through Flask's test client (cookies kept there)."""
    client = tool.app.test_client()
    response = tool.platform.launch(
        client,
        tool.url,
        sub="teacher-1",
        name="Ada Teacher",
        **{claims.ROLES: [INSTRUCTOR]},
        **claims_,
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, page
    return Session(client, location.rsplit("/", 1)[1], token.group(1))


def storage_launch_fields(tool: Tool, **claims_: Any) -> dict[str, str]:
    """The last post of a cookieless launch (the id_token with the secret read back from the
    platform's storage), from a login made through Flask's test client."""
    client: FlaskClient = tool.app.test_client()
    platform = tool.platform
    query = {
        "iss": platform.issuer,
        "login_hint": "hint",
        "target_link_uri": f"{tool.url}/lti/launch",
        "client_id": platform.client_id,
        "lti_storage_target": STORAGE_TARGET,
    }
    html = client.get("/lti/login", query_string=query).get_data(as_text=True)
    auth_url = unescape(re.search(r'<a href="([^"]+)">Continue</a>', html).group(1))  # type: ignore[union-attr]
    secret = re.search(r'value: "([^"]+)"', html).group(1)  # type: ignore[union-attr]
    auth = {key: values[0] for key, values in parse_qs(urlsplit(auth_url).query).items()}
    return {
        "id_token": platform.sign(platform.claims(auth["nonce"], tool.url, **claims_)),
        "state": auth["state"],
        "lti_storage_target": STORAGE_TARGET,
        "lti_storage_secret": secret,
    }


def block_scripts_of_continue_pages(route: Route) -> None:
    """Answer the tool's continue page with its scripts blocked (as where scripts do not run);
    every other answer as it is."""
    response = route.fetch()
    headers = dict(response.headers)
    if 'id="continue-launch"' in response.text():
        headers["content-security-policy"] = "script-src 'none'"
    route.fulfill(response=response, headers=headers)


# --- registration ------------------------------------------------------------------------------


@pytest.mark.parametrize("framed", [False, True], ids=["top", "framed"])
def test_a_registration_without_a_usable_link_is_refused_in_plain_words(
    lms: Browsing, framed: bool
) -> None:
    with lms.page.expect_response(lambda r: "/lti/register" in r.url) as answer:
        frame = lms.open("/lti/register?invite=used-or-made-up", framed)

    assert answer.value.status == 403
    expect(frame.get_by_role("heading", level=1)).to_have_text("Registration link needed")
    expect(frame.get_by_role("alert")).to_have_text(
        "This registration link is missing, used or expired. Ask the operator of the tool for a "
        "new registration link (lms-plugin platform invite)."
    )
    assert_plain(frame)
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)


def test_a_registration_link_opened_in_a_browser_says_how_to_use_it(lms: Browsing) -> None:
    with lms.tool.app.app_context():
        url = create_invite(db.session, lms.tool.url, "Moodle of Example College", 48)
        db.session.commit()
    frame = lms.open(url, framed=False)

    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Registration link for Moodle of Example College"
    )
    main = frame.locator("main")
    expect(main).to_contain_text("Paste it, as it is in your browser's address bar")
    expect(main).to_contain_text("It works once, until")
    assert url.rsplit("=", 1)[1] not in frame.locator("body").inner_text()
    assert_plain(frame)
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)


def test_a_registration_in_the_lms_frame_says_it_is_done_and_asks_to_be_closed(
    lms: Browsing, keyset: KeySetServer
) -> None:
    platform = FakeRegistrationPlatform()
    platform.jwks_uri = keyset.url
    try:
        with lms.tool.app.app_context():
            url = create_invite(db.session, lms.tool.url, "", 1)
            db.session.commit()
        query = {
            "openid_configuration": f"{platform.url}/.well-known/openid-configuration",
            "registration_token": "token-123",
        }
        frame = lms.open(f"{url}&{urlencode(query)}", framed=True)

        expect(frame.get_by_role("heading", level=1)).to_have_text("Registration complete")
        main = frame.locator("main")
        expect(main).to_contain_text("client id moodle-client-7")
        expect(main).to_contain_text("the registration link is now used up")
    finally:
        platform.httpd.shutdown()
        platform.httpd.server_close()
    lms.page.wait_for_function("window.closeAsked")
    assert_plain(frame)
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)


# --- launches ----------------------------------------------------------------------------------


def is_launch_post(response: Any) -> bool:
    return bool(response.url.endswith("/lti/launch") and response.request.method == "POST")


def test_a_launch_without_a_course_role_is_refused_in_plain_words(lms: Browsing) -> None:
    for framed in (False, True):
        with lms.page.expect_response(is_launch_post) as answer:
            frame = lms.launch(framed, sub="faculty-1", **{claims.ROLES: [INSTITUTION_FACULTY]})

        assert answer.value.status == 403
        expect(frame.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(frame.get_by_role("alert")).to_have_text(
            "This tool has pages for a course's learners and its staff (instructors, teaching "
            "assistants, content developers) only, and your role in this course is neither."
        )
        assert_plain(frame)
        check_accessibility(lms.page)


def test_a_cookieless_launch_in_the_lms_frame_opens_the_grid_and_its_links(
    lms: Browsing,
) -> None:
    custom = placed_custom(lms.tool)
    frame = lms.launch(
        True, cookieless=True, sub="teacher-2", **{claims.ROLES: [INSTRUCTOR]}, **custom
    )

    # Platform storage, then the continue page posting its token by itself: the grid.
    expect_staff_page(frame)
    check_accessibility(lms.page)
    overview = frame.get_by_role("button", name="Cohort overview")
    # A form's button (it posts the token) that looks like the links beside it.
    assert overview.evaluate("b => getComputedStyle(b).textDecorationLine") == "underline"
    overview.click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Cohort overview")
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)  # the table scrolls in its own region
    frame.get_by_role("button", name="Back to the grid").click()
    expect_staff_page(frame)
    assert_fits(frame)


def test_the_continue_page_works_by_keyboard_where_its_script_does_not_run(
    lms: Browsing,
) -> None:
    custom = placed_custom(lms.tool)
    fields = storage_launch_fields(
        lms.tool, sub="teacher-3", **{claims.ROLES: [INSTRUCTOR]}, **custom
    )
    lms.context.route("**/lti/launch", block_scripts_of_continue_pages)
    frame = lms.post_to_frame("/lti/launch", fields)

    expect(frame.get_by_role("heading", level=1)).to_have_text("Opening the tool…")
    expect(frame.locator("main")).to_contain_text("If the tool does not open by itself")
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)
    button = frame.get_by_role("button", name="Continue")
    expect(button).to_be_visible()
    button.focus()
    expect(button).to_be_focused()
    lms.page.keyboard.press("Enter")
    expect_staff_page(frame)


def test_too_many_credential_copies_are_refused_in_plain_words_in_the_frame(
    lms: Browsing,
) -> None:
    custom = placed_custom(lms.tool)
    frame = lms.launch(True, sub="learner-1", **custom)
    expect(frame.get_by_role("heading", level=1)).to_contain_text("My progress")
    staff = staff_session(lms.tool, **custom)
    grid = staff.get("/api/v1/grid").json
    assert grid is not None
    [learner] = grid["learners"]
    statements = [s["id"] for s in grid["levels"][0]["statements"]]
    assert staff.judge(*[(learner["id"], s, "met") for s in statements]).status_code == 201
    with lms.tool.app.app_context():
        worker.issue_credentials_once()

    limit = rate_limit.CREDENTIAL_COPIES
    learner_page = frame.url
    for index in range(limit.count + 1):
        frame.goto(learner_page)  # the learner's page, now with the credential
        button = frame.get_by_role("button", name="Add to a wallet").first
        with frame.expect_navigation():
            button.click()
        if index < limit.count:
            expect(frame.get_by_role("heading", level=1)).to_have_text("Add your badge to a wallet")
        if index == 0:  # the wallet page itself: two QR codes and their same-device links
            expect(frame.get_by_role("img", name=re.compile("QR code"))).to_have_count(2)
            expect(frame.get_by_role("link", name=re.compile("^Open in"))).to_have_count(2)
            check_accessibility(lms.page)

    expect(frame.get_by_role("alert")).to_have_text(
        "You can do this 5 times in 1 hour: please try again later."
    )
    assert_plain(frame)
    check_accessibility(lms.page)
    lms.page.set_viewport_size(NARROW)
    assert_fits(frame)


# --- verification ------------------------------------------------------------------------------


def test_the_verify_page_answers_input_that_is_not_a_credential_in_plain_words(
    lms: Browsing,
) -> None:
    page = lms.page
    page.goto("/verify")
    page.get_by_label("Paste the credential (JSON)").fill("hello, employer")
    with page.expect_response(lambda r: r.url.endswith("/verify")) as answer:
        page.get_by_role("button", name="Verify").click()

    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("not JSON")
    # The input stays, to correct it.
    expect(page.get_by_label("Paste the credential (JSON)")).to_have_value("hello, employer")
    assert_plain(page.main_frame)
    check_accessibility(page)


def test_the_verify_page_says_when_the_verifier_is_busy(
    lms: Browsing, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots = threading.BoundedSemaphore(1)
    slots.acquire()  # every slot taken
    monkeypatch.setattr(credential_pages, "VERIFY_SLOTS", slots)
    page = lms.page
    page.goto("/verify")
    page.get_by_label("Paste the credential (JSON)").fill(json.dumps({"type": "x"}))
    with page.expect_response(lambda r: r.url.endswith("/verify")) as answer:
        page.get_by_role("button", name="Verify").click()

    assert answer.value.status == 503
    assert answer.value.headers["retry-after"] == "2"
    expect(page.get_by_role("alert")).to_have_text(credential_pages.BUSY)
    expect(page.get_by_label("Paste the credential (JSON)")).to_have_value('{"type": "x"}')
    check_accessibility(page)
    page.set_viewport_size(NARROW)
    assert_fits(page.main_frame)


# --- the sandbox LMS's frame, and the check itself -----------------------------------------------


def test_check_accessibility_checks_the_document_inside_a_frame(page: Page) -> None:
    page.goto("/healthz")
    page.set_content(
        '<html lang="en"><title>Host</title><main><h1>Host</h1>'
        '<iframe title="Framed" src="/healthz"></iframe></main></html>'
    )
    frame = page.frames[1]
    frame.wait_for_load_state()
    frame.evaluate("document.body.innerHTML = '<main><img src=\"data:,\"></main>'")
    with pytest.raises(pytest.fail.Exception) as failure:
        check_accessibility(page)
    message = str(failure.value)
    assert "image-alt (critical)" in message
    assert "(framed in " in message


def test_the_grid_in_the_sandbox_frame_is_checked_in_its_own_document(page: Page) -> None:
    page.goto("/sandbox?as=sandbox-user-ada")
    launch = page.get_by_role("button", name=re.compile("^Launch "))
    if launch.count() == 0:  # the shared demo has no activity yet: add one by deep linking
        page.get_by_role("button", name="Add content from the tool").click()
        chooser = page.frame_locator("iframe")
        chooser.get_by_role("radio").first.check()
        chooser.get_by_role("button", name="Add to the course").click()
        expect(chooser.get_by_role("heading", level=1)).to_contain_text("Content added")
        page.goto("/sandbox?as=sandbox-user-ada")
    launch.first.click()
    tool = page.frame_locator("iframe")
    try:  # a first launch may come before the worker read the class list: the page follows it
        expect(tool.locator("table.grid")).to_be_visible(timeout=ROSTER_WAIT_MS)
    except AssertionError:
        pytest.fail(what_the_frame_shows(page), pytrace=False)
    row_button = tool.locator("button.row-menu").first
    expect(row_button).to_have_attribute(
        "aria-label", re.compile(r"^All met… for \S.*: choose a level$")
    )
    name = row_button.get_attribute("aria-label") or ""
    assert name.startswith(row_button.inner_text())
    check_accessibility(page)


def what_the_frame_shows(page: Page) -> str:
    """Why a framed launch did not reach the grid: the frame's address and words, and the end of
    the demo server's log."""
    frames = [frame for frame in page.frames if frame is not page.main_frame]
    shown = "\n".join(
        f"frame at {frame.url}:\n{frame.locator('body').inner_text(timeout=2_000)[:1_500]}"
        for frame in frames
    )
    base_url = page.url.split("/sandbox", 1)[0]
    log = SERVER_LOGS.get(base_url)
    tail = log.read_text(encoding="utf-8", errors="replace")[-4_000:] if log else "(no log)"
    return f"The framed launch did not show the grid.\n{shown}\nServer log (end):\n{tail}"
