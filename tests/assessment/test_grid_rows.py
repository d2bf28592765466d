"""The grid page's rows are built for speed straight from the current cells' rows (issue 17): they
must be byte for byte what a plain build from the grid's JSON gives, one cell at a time, with every
text escaped."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from markupsafe import escape

from lms_plugin.lti import claims
from tests.courses import Course, launch_as
from tests.lti.platform import LtiPlatform

TRICKY = "<b>\"Zoë\" & 'co'</b>"


def _reference_cell(learner_id: int, sid: int, cell: dict[str, Any] | None, waiting: bool) -> str:
    verdict = cell["verdict"] if cell else ""
    text = {"met": "Met", "not_yet": "Not yet", "": "Not judged"}[verdict]
    notes = ""
    if cell and cell["comment"]:
        notes += f' data-comment="{escape(cell["comment"])}"'
    if cell and cell["evidence_url"]:
        notes += f' data-evidence="{escape(cell["evidence_url"])}"'
    if cell and cell["show_in_credential"]:
        notes += " data-show-in-credential"
    return (
        f'<td><button class="cell" tabindex="-1" aria-labelledby="n{learner_id} h{sid}'
        f' v-{verdict or "none"}{" ew" if waiting else ""}" data-statement="{sid}"'
        f' data-verdict="{verdict}"{notes}{" data-evidence-waiting" if waiting else ""}>'
        f"{text}</button></td>"
    )


def reference_rows(grid: dict[str, Any]) -> str:
    """The grid's body rows from its JSON (the API's), one cell looked up at a time."""
    statements = [s["id"] for level in grid["levels"] for s in level["statements"]]
    cells = {(c["learner_id"], c["statement_id"]): c for c in grid["cells"]}
    waiting = {(w["learner_id"], w["statement_id"]) for w in grid["waiting"]}
    rows = []
    for learner in grid["learners"]:
        lid, name = learner["id"], escape(learner["name"])
        met = sum(cells[lid, sid]["verdict"] == "met" for sid in statements if (lid, sid) in cells)
        badges = "".join(
            f'<span class="badge" data-level="{escape(level["key"])}">✓ {escape(level["label"])}'
            "</span>"
            for level in grid["levels"]
            if level["key"] in learner["achieved"]
        )
        rows.append(
            f'<tr data-learner="{lid}"><th scope="row" class="learner" id="l-{lid}" tabindex="-1">'
            f'<span class="name">{name}</span><span hidden id="n{lid}">{name},</span></th>'
            f'<td class="progress"><span class="met-count"><span data-met>{met}</span>'
            f"/{len(statements)} met</span>"
            '<button type="button" class="row-menu" tabindex="-1" aria-haspopup="menu" '
            'aria-expanded="false" aria-controls="row-menu" '
            f'aria-label="All met… for {name}: choose a level">All met…</button>'
            f'<span class="achieved" data-achieved>{badges}</span></td>'
            + "".join(
                _reference_cell(lid, sid, cells.get((lid, sid)), (lid, sid) in waiting)
                for sid in statements
            )
            + "</tr>"
        )
    return "".join(rows)


def test_grid_rows_are_the_plain_build_of_the_grid_json(
    app: Flask, platform: LtiPlatform, version_id: int, course: Course
) -> None:
    claims_of_course = {
        claims.CUSTOM: {"framework": str(version_id), "levels": "emerging,developing"},
        claims.CONTEXT: {"id": "course-1", "title": "Course course-1"},
    }
    tricky = launch_as(app, platform, "course-1-tricky", TRICKY, False, **claims_of_course)
    first, second = course.learner_ids
    emerging, developing = course.statements["emerging"], course.statements["developing"]
    staff = course.staff
    notes = {
        "comment": "Fine <work> & \"quoted\" 'too'",
        "evidence_url": "https://portfolio.example/log?a=1&b='2'",
        "show_in_credential": True,
    }
    everything = staff.judge(*((tricky.person_id, s, "met") for s in emerging), **notes)
    assert everything.status_code == 201
    assert staff.judge((tricky.person_id, developing[0], "not_yet")).status_code == 201
    assert staff.judge((first, developing[1], "met"), comment="Then cleared").status_code == 201
    assert staff.judge((first, developing[1], "clear"), comment="Cleared").status_code == 201
    assert staff.judge((second, developing[2], "not_yet"), comment="Again").status_code == 201
    for statement in (emerging[0], developing[2]):  # one cell not judged, one judged before
        sent = course.learners[1].post(
            "/api/v1/evidence", {"statement_id": statement, "url": "https://e.example/?x=<1>"}
        )
        assert sent.status_code == 201, sent.json

    html = staff.get(f"/launch/{staff.launch_id}").get_data(as_text=True)
    body = re.search(r"<tbody>\s*(.*?)\s*</tbody>", html, re.S)
    grid = staff.get("/api/v1/grid?page=1").json
    assert body is not None and grid is not None
    assert body.group(1) == reference_rows(grid)
    # The page has what the comparison is about: escaped texts, notes, waits, a level, a clear.
    assert str(escape(TRICKY)) in body.group(1) and body.group(1).count("data-comment") == 11
    assert body.group(1).count("data-evidence-waiting") == 2
    assert body.group(1).count('class="badge"') == 1 and "Cleared" not in body.group(1)
