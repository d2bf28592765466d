"""The staff grid page, the cohort overview and the learner's page, rendered by the server."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask

from tests.courses import Course


def test_grid_page_shows_every_learner_and_statement_with_current_verdicts(
    app: Flask, course: Course
) -> None:
    learner = course.learner_ids[0]
    course.staff.judge((learner, course.statements["emerging"][0], "met"))
    course.staff.judge((learner, course.statements["emerging"][1], "not_yet"))
    html = course.staff.client.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)

    assert html.count('class="statement-head"') == 20
    rows = re.findall(r'<tr data-learner="(\d+)"', html)
    assert sorted(map(int, rows)) == sorted(course.learner_ids)
    row = re.search(rf'<tr data-learner="{learner}".*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert row.count('data-verdict="met"') == 1 and row.count('data-verdict="not_yet"') == 1
    assert 'name="csrf-token"' in html and f'content="{course.staff.launch_id}"' in html


def test_grid_escapes_learner_names(app: Flask, platform, course: Course) -> None:  # type: ignore[no-untyped-def]
    from tests.courses import launch_as

    launch_as(app, platform, "course-1-evil", '<img src=x onerror=alert(1)>"', False)
    html = course.staff.client.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;" in html


def test_overview_counts_the_share_met_per_statement(app: Flask, course: Course) -> None:
    first, second = course.learner_ids
    statement = course.statements["emerging"][0]
    course.staff.judge((first, statement, "met"), (second, statement, "not_yet"))
    page = course.staff.client.get(f"/launch/{course.staff.launch_id}/overview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2 learners" in html
    assert "50% (1)" in html
    learner = course.learners[0]
    assert learner.client.get(f"/launch/{learner.launch_id}/overview").status_code == 403


def test_learner_page_charts_their_own_progress(app: Flask, course: Course) -> None:
    me, other = course.learners
    course.staff.judge(*[(me.person_id, s, "met") for s in course.statements["emerging"]])
    course.staff.judge((other.person_id, course.statements["developing"][0], "met"))
    html = me.client.get(f"/launch/{me.launch_id}").get_data(as_text=True)
    assert "<svg" in html
    assert "Emerging: 10 of 10 met, achieved." in html
    assert "Developing: 0 of 10 met." in html
    assert html.count("✓ Achieved") == 1
    assert "Learner 1" not in html


def test_the_grid_page_download_links_work_in_the_browser_that_launched(
    app: Flask, course: Course
) -> None:
    html = course.staff.client.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)
    links = re.findall(r'href="(/api/v1/export/[^"]+)"', html)
    assert len(links) == 2
    for link in links:
        response = course.staff.client.get(unescape(link))  # the session cookie, no header
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert app.test_client().get(unescape(link)).status_code == 403


def _send_evidence(course: Course, learner_index: int, statement: int) -> None:
    learner = course.learners[learner_index]
    answer = learner.post(
        "/api/v1/evidence", {"statement_id": statement, "url": "https://portfolio.example/log"}
    )
    assert answer.status_code == 201, answer.json


def test_the_grid_marks_and_filters_learners_with_evidence_waiting(
    app: Flask, course: Course
) -> None:
    first, second = course.learner_ids
    statement, other = course.statements["emerging"][:2]
    _send_evidence(course, 0, statement)
    _send_evidence(course, 0, statement)
    staff = course.staff
    html = staff.get(f"/launch/{staff.launch_id}").get_data(as_text=True)

    # The cell: marked, and "(evidence waiting)" ends its name; no other cell is.
    assert html.count("data-evidence-waiting") == 1
    cell = re.search(rf'<button class="cell"[^>]*data-statement="{statement}"[^>]*>', html)
    waiting = [c for c in re.findall(r'<button class="cell"[^>]*>', html) if "waiting" in c]
    assert waiting == [
        f'<button class="cell" tabindex="-1" aria-labelledby="n{first} h{statement} v-none ew"'
        f' data-statement="{statement}" data-verdict="" data-evidence-waiting>'
    ]
    assert cell is not None
    assert '<span hidden id="ew">(evidence waiting)</span>' in html
    assert '<option value="evidence-waiting">With evidence waiting</option>' in html

    # The filter keeps the learner with evidence waiting, across the server's pages.
    filtered = staff.get(f"/launch/{staff.launch_id}?state=evidence-waiting").get_data(as_text=True)
    assert re.findall(r'<tr data-learner="(\d+)"', filtered) == [str(first)]
    assert "1 of 2 learners with evidence waiting." in unescape(filtered)
    grid = staff.get("/api/v1/grid?state=evidence-waiting&page=1").json
    assert [p["id"] for p in grid["learners"]] == [first]
    assert grid["paging"]["state"] == "evidence-waiting"
    assert [(w["learner_id"], w["statement_id"], w["count"]) for w in grid["waiting"]] == [
        (first, statement, 2)
    ]
    assert staff.get("/api/v1/grid").json["waiting"][0]["submitted_at"].endswith("Z")

    # A judgement of another cell leaves it waiting; one of its own cell ends the wait (the
    # filter follows at once: the standings behind it are read again).
    assert staff.judge((first, other, "met")).status_code == 201
    grid = staff.get("/api/v1/grid?state=evidence-waiting&page=1").json
    assert [p["id"] for p in grid["learners"]] == [first]
    assert staff.judge((first, statement, "not_yet"), comment="Log incomplete").status_code == 201
    grid = staff.get("/api/v1/grid?state=evidence-waiting&page=1").json
    assert grid["learners"] == [] and grid["waiting"] == []
    html = staff.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    assert "data-evidence-waiting" not in html and 'id="ew"' in html
    assert second not in [p["id"] for p in grid["learners"]]


def test_grid_cells_carry_the_credential_tick(app: Flask, course: Course) -> None:
    learner = course.learner_ids[0]
    shown, hidden = course.statements["emerging"][:2]
    course.staff.judge((learner, shown, "met"), comment="Good & <quick>", show_in_credential=True)
    course.staff.judge((learner, hidden, "met"), comment="Fine")
    html = course.staff.get(f"/launch/{course.staff.launch_id}").get_data(as_text=True)
    row = re.search(rf'<tr data-learner="{learner}".*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    cells = dict(re.findall(r'data-statement="(\d+)"([^>]*)>', row))
    assert cells[str(shown)].endswith(
        ' data-verdict="met" data-comment="Good &amp; &lt;quick&gt;" data-show-in-credential'
    )
    assert cells[str(hidden)] == ' data-verdict="met" data-comment="Fine"'
