"""The grid's body rows as HTML, built in Python: 200 learners x 40 statements is 8,000 cells, and a
Jinja loop with per-cell logic costs about 100 ms where this costs a few. Every text is escaped."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

# {0}: the statement id; {1}: the current comment and evidence as data attributes (the cell's
# dialog opens with them, an undo restores them).
_CELL = {
    "met": '<td><button type="button" class="cell met" tabindex="-1" data-statement="{0}" '
    'data-verdict="met"{1}>✓ Met</button></td>',
    "not_yet": '<td><button type="button" class="cell not_yet" tabindex="-1" data-statement="{0}" '
    'data-verdict="not_yet"{1}>✗ Not yet</button></td>',
    "": '<td><button type="button" class="cell" tabindex="-1" data-statement="{0}" '
    'data-verdict=""><span aria-hidden="true">·</span>'
    '<span class="visually-hidden">Not judged</span></button></td>',
}


def _notes(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    comment, evidence = cell.get("comment"), cell.get("evidence_url")
    return (f' data-comment="{escape(comment)}"' if comment else "") + (
        f' data-evidence="{escape(evidence)}"' if evidence else ""
    )


def grid_rows(grid: dict[str, Any]) -> Markup:
    """`<tr>` per learner: name, achieved levels, per-level bulk buttons (named by their visible
    text, then the learner), then one cell per statement with its current verdict."""
    statement_ids = [s["id"] for level in grid["levels"] for s in level["statements"]]
    cells = {(c["learner_id"], c["statement_id"]): c for c in grid["cells"]}
    levels = [(escape(level["key"]), escape(level["label"])) for level in grid["levels"]]
    parts: list[str] = []
    for learner in grid["learners"]:
        learner_id = int(learner["id"])
        name = escape(learner["name"])
        achieved = set(learner["achieved"])
        badges = "".join(
            f'<span class="badge" data-level="{key}">✓ {label}</span>'
            for (key, label), raw in zip(levels, grid["levels"], strict=True)
            if raw["key"] in achieved
        )
        buttons = "".join(
            f'<button type="button" class="bulk row" data-level="{key}" '
            f'aria-label="{label}: all met for {name}">{label}: all met</button>'
            for key, label in levels
        )
        parts.append(
            f'<tr data-learner="{learner_id}" data-name="{escape(learner["name"].lower())}">'
            f'<th scope="row" class="learner"><span class="name" id="l-{learner_id}">{name}</span>'
            f'<span class="achieved" data-achieved>{badges}</span>'
            f'<span class="row-actions">{buttons}</span></th>'
        )
        for sid in statement_ids:
            cell = cells.get((learner_id, sid))
            parts.append(_CELL[cell["verdict"] if cell else ""].format(sid, _notes(cell)))
        parts.append("</tr>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
