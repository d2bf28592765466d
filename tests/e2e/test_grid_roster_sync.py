"""The grid page follows the class list's sync from the LMS, in Chromium: on a first launch it says
no learner is known yet, and once the worker has read the roster the grid appears by itself (no
reload by the person, with or without cookies); a page already showing learners only says the
class list was updated and offers a link to see it (a comment being typed stays); a sync that
gives up says why.

The tool runs in-process on both databases, in a pretend LMS's frame (`tool` and `lms` from
test_security_pages); the test plays the worker (`sync`). `SHOTS` set: screenshots saved there.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Frame, expect
from sqlalchemy import update

from lms_plugin.database import db
from lms_plugin.lti import claims, nrps
from lms_plugin.lti.models import RosterSync
from tests.browser import check_accessibility
from tests.e2e import test_security_pages as security
from tests.e2e.test_judging_safely import enrol, shot
from tests.e2e.test_security_pages import Browsing, placed_custom
from tests.lti.platform import INSTRUCTOR
from tests.lti.test_roster_sync import ROSTER, FakeNrps, install, sync

tool = security.tool
lms = security.lms

NRPS_CLAIM = {claims.NRPS: {"context_memberships_url": ROSTER, "service_versions": ["2.0"]}}
FOLLOWED_MS = 15_000  # the page asks every 2 s at first, then less often


def open_grid(lms: Browsing, custom: dict[str, object], cookieless: bool = False) -> Frame:
    """The first evaluator's launch in the LMS frame: it asks for the roster."""
    return lms.launch(
        True,
        cookieless=cookieless,
        sub="teacher-1",
        name="Ada Teacher",
        **{claims.ROLES: [INSTRUCTOR]},
        **custom,
        **NRPS_CLAIM,
    )


@pytest.mark.parametrize("cookieless", [False, True], ids=["cookies", "cookieless"])
def test_the_grid_appears_by_itself_once_the_roster_is_read(
    lms: Browsing, cookieless: bool
) -> None:
    install(lms.tool.app, FakeNrps(size=3))
    frame = open_grid(lms, placed_custom(lms.tool), cookieless)
    expect(frame.get_by_text("No learner is known yet")).to_be_visible()
    status = frame.locator("#roster-status")
    expect(status).to_have_text(
        "Updating the class list from the LMS… The grid will appear here once it is read."
    )
    expect(frame.locator("table.grid")).to_have_count(0)
    check_accessibility(lms.page)
    shot(lms, f"roster-1-syncing-{'cookieless' if cookieless else 'cookies'}")

    assert sync(lms.tool.app) == 1  # the worker reads it; the test does not reload the page
    grid = frame.locator("table.grid")
    expect(grid).to_be_visible(timeout=FOLLOWED_MS)
    expect(grid.locator("tbody tr")).to_have_count(3)
    expect(status).to_have_text(re.compile(r"^Class list from the LMS as of \S"))
    expect(frame.locator("#roster-show")).to_have_count(0)
    check_accessibility(lms.page)
    shot(lms, f"roster-2-read-{'cookieless' if cookieless else 'cookies'}")
    if cookieless:
        assert lms.context.cookies() == []


def test_a_page_showing_learners_says_the_list_was_updated_and_keeps_what_is_typed(
    lms: Browsing,
) -> None:
    install(lms.tool.app, FakeNrps(size=3))
    custom = placed_custom(lms.tool)
    enrol(lms.tool, custom, "bea", "Bea Wong")
    frame = open_grid(lms, custom)
    rows = frame.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    status = frame.locator("#roster-status")
    expect(status).to_have_text(
        "Updating the class list from the LMS… This line will say when it is done."
    )
    frame.locator("button.cell").first.click()
    dialog = frame.locator("#cell-dialog")
    dialog.get_by_label("Comment (why)").fill("Half typed")

    sync(lms.tool.app)
    expect(status).to_have_text(
        re.compile(r"^The class list was updated from the LMS as of \S.*\.$"),
        timeout=FOLLOWED_MS,
    )
    show = frame.get_by_role("link", name="Show the updated class list")
    expect(show).to_be_visible()
    expect(dialog).to_be_visible()  # not reloaded: the comment being typed is still there
    expect(dialog.get_by_label("Comment (why)")).to_have_value("Half typed")
    expect(rows).to_have_count(1)
    dialog.get_by_role("button", name="Cancel").click()
    check_accessibility(lms.page)
    shot(lms, "roster-3-updated-with-learners")

    show.click()
    expect(rows).to_have_count(4)
    expect(status).to_have_text(re.compile(r"^Class list from the LMS as of \S"))


def test_a_sync_that_gives_up_says_why_in_the_status_line(lms: Browsing) -> None:
    install(lms.tool.app, FakeNrps(size=3, failures={1: 99}))
    frame = open_grid(lms, placed_custom(lms.tool))
    status = frame.locator("#roster-status")
    expect(status).to_contain_text("The grid will appear here once it is read.")

    sync(lms.tool.app)  # the first try fails: tried again later
    expect(status).to_contain_text("The last try to read it failed (", timeout=FOLLOWED_MS)
    expect(status).to_contain_text("answered 500); it will be tried again.")
    with lms.tool.app.app_context():  # the last try, due now
        db.session.execute(
            update(RosterSync).values(
                attempts=nrps.MAX_ATTEMPTS - 1, next_attempt_at=dt.datetime.now(dt.UTC)
            )
        )
        db.session.commit()
    sync(lms.tool.app)
    expect(status).to_have_text(
        re.compile(r"^The last try to read it failed \(.*answered 500\)\.$"), timeout=FOLLOWED_MS
    )
    expect(frame.get_by_text("No learner is known yet")).to_be_visible()  # not reloaded
    expect(frame.locator("#roster-show")).to_be_hidden()
    check_accessibility(lms.page)
