"""Judging never loses a word (SQLite and PostgreSQL): an item that leaves its cell as it is records
nothing and is listed in `unchanged`; absent comment and evidence keep the current ones for the same
verdict; a bulk action over a partly-met row and its undo, through the API as the grid does them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from lms_plugin.assessment.models import Judgement
from lms_plugin.database import db
from tests.courses import Course

EVIDENCE = "https://evidence.example/filing"


def judgements(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Judgement)) or 0


def cell_history(course: Course, learner: int, statement: int) -> list[dict[str, Any]]:
    answer = course.staff.get(
        "/api/v1/judgements", query_string={"learner_id": learner, "statement_id": statement}
    )
    history: list[dict[str, Any]] = answer.json["judgements"]
    return history


def grid_cells(course: Course) -> dict[tuple[int, int], dict[str, Any]]:
    """The grid's judged cells: verdict, comment and evidence (when and by whom aside)."""
    grid = course.staff.get("/api/v1/grid").json
    keep = ("verdict", "comment", "evidence_url")
    return {(c["learner_id"], c["statement_id"]): {k: c[k] for k in keep} for c in grid["cells"]}


def test_an_item_equal_to_the_cell_records_nothing(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    first = course.staff.judge(
        (learner, statement, "met"), comment="Seen filing", evidence_url=EVIDENCE
    )
    assert first.status_code == 201 and first.json["unchanged"] == []

    # As the dialog saves it when opened and closed without a change (blanks are trimmed).
    again = course.staff.judge(
        (learner, statement, "met"), comment=" Seen filing ", evidence_url=EVIDENCE
    )
    assert again.status_code == 201
    assert again.json == {"judgements": [], "achieved": [], "withdrawn": [], "unchanged": [0]}
    # As a bulk action sends it: the same verdict, no comment or evidence keys, or null ones.
    bulk = course.staff.judge((learner, statement, "met"))
    assert bulk.json["unchanged"] == [0] and bulk.json["judgements"] == []
    nulls = course.staff.judge((learner, statement, "met"), comment=None, evidence_url=None)
    assert nulls.json["unchanged"] == [0]
    assert judgements(app) == 1

    cell = grid_cells(course)[(learner, statement)]
    assert (cell["verdict"], cell["comment"], cell["evidence_url"]) == (
        "met",
        "Seen filing",
        EVIDENCE,
    )


def test_clearing_a_never_judged_cell_records_nothing(app: Flask, course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    answer = course.staff.judge((learner, statement, "clear"))
    assert answer.status_code == 201 and answer.json["unchanged"] == [0]
    assert judgements(app) == 0


def test_absent_keeps_an_empty_string_clears_and_a_new_verdict_starts_without(
    app: Flask, course: Course
) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    course.staff.judge((learner, statement, "met"), comment="Seen filing", evidence_url=EVIDENCE)

    # Same verdict, a new comment only: the evidence stays.
    changed = course.staff.judge((learner, statement, "met"), comment="Seen twice")
    [recorded] = changed.json["judgements"]
    assert (recorded["comment"], recorded["evidence_url"]) == ("Seen twice", EVIDENCE)
    # An explicit empty string removes the evidence; the comment stays.
    removed = course.staff.judge((learner, statement, "met"), evidence_url="")
    [recorded] = removed.json["judgements"]
    assert (recorded["comment"], recorded["evidence_url"]) == ("Seen twice", None)
    # A new verdict without comment or evidence (the M/N/C keys): none carried over.
    reversed_ = course.staff.judge((learner, statement, "not_yet"))
    [recorded] = reversed_.json["judgements"]
    assert (recorded["verdict"], recorded["comment"], recorded["evidence_url"]) == (
        "not_yet",
        None,
        None,
    )
    history = cell_history(course, learner, statement)
    assert [(j["verdict"], j["comment"]) for j in history] == [
        ("not_yet", None),
        ("met", "Seen twice"),
        ("met", "Seen twice"),
        ("met", "Seen filing"),
    ]


def test_a_batch_lists_its_unchanged_items_and_records_the_others(
    app: Flask, course: Course
) -> None:
    learner = course.learner_ids[0]
    a, b, c = course.statements["emerging"][:3]
    course.staff.judge((learner, a, "met"), comment="Kept")
    answer = course.staff.judge(
        (learner, a, "met"), (learner, b, "met"), (learner, b, "met"), (learner, c, "clear")
    )
    assert answer.status_code == 201
    # b's second item equals what the first made of the cell; c was never judged.
    assert answer.json["unchanged"] == [0, 2, 3]
    assert [(j["statement_id"], j["verdict"]) for j in answer.json["judgements"]] == [(b, "met")]
    assert grid_cells(course)[(learner, a)]["comment"] == "Kept"


def test_a_bulk_action_over_a_partly_met_row_and_its_undo(app: Flask, course: Course) -> None:
    """What the grid does: mark every Emerging statement met for one learner (the cells already
    met are left alone, their comments kept), then undo with reversal judgements restoring each
    changed cell's verdict, comment and evidence; the history keeps all of it."""
    learner = course.learner_ids[0]
    emerging = course.statements["emerging"]
    met, not_yet = emerging[:3], emerging[3]
    course.staff.judge(*[(learner, s, "met") for s in met], comment="Seen at work")
    course.staff.judge((learner, not_yet, "not_yet"), comment="Late", evidence_url=EVIDENCE)
    before = grid_cells(course)

    bulk = course.staff.judge(*[(learner, s, "met") for s in emerging])
    assert bulk.json["unchanged"] == [0, 1, 2]
    assert len(bulk.json["judgements"]) == 7
    assert bulk.json["achieved"] == [{"learner_id": learner, "level": "emerging"}]
    after = grid_cells(course)
    assert all(after[(learner, s)]["comment"] == "Seen at work" for s in met)
    assert after[(learner, not_yet)]["comment"] is None  # the new verdict carries no comment

    # Undo: each changed cell back to the judgement current before (clear where none was).
    changed = [j["statement_id"] for j in bulk.json["judgements"]]
    undo_items = []
    for statement in changed:
        previous = before.get((learner, statement))
        undo_items.append(
            {
                "learner_id": learner,
                "statement_id": statement,
                "verdict": previous["verdict"] if previous else "clear",
                "comment": (previous or {}).get("comment") or "",
                "evidence_url": (previous or {}).get("evidence_url") or "",
            }
        )
    undo = course.staff.post("/api/v1/judgements", {"judgements": undo_items})
    assert undo.status_code == 201 and undo.json["unchanged"] == []
    assert undo.json["withdrawn"] == [{"learner_id": learner, "level": "emerging"}]
    assert grid_cells(course) == before

    history = cell_history(course, learner, not_yet)
    assert [(j["verdict"], j["comment"], j["evidence_url"]) for j in history] == [
        ("not_yet", "Late", EVIDENCE),
        ("met", None, None),
        ("not_yet", "Late", EVIDENCE),
    ]
    assert [j["verdict"] for j in cell_history(course, learner, emerging[-1])] == [
        "clear",
        "met",
    ]
    assert judgements(app) == 4 + 7 + 7
