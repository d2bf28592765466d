"""The grid's body rows as HTML, built in Python: a page of 100 learners x 40 statements is 4,000
cells, and a Jinja loop with per-cell logic costs about 100 ms where this costs a few. Every text
is escaped.

Each cell is a button named "learner, statement, verdict" (`aria-labelledby`), then "(evidence
waiting)" when its (learner id, statement id) is in `waiting`: a learner's evidence for the
evaluator to look at (the cell then carries `data-evidence-waiting`, marked by the style sheet)."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from markupsafe import Markup, escape

# A cell's verdict word (its visible mark comes from the style sheet, hidden from screen readers).
VERDICT_TEXT = {"met": "Met", "not_yet": "Not yet", "": "Not judged"}
# A cell's button is named by the row's hidden "name,", the column's hidden "Level statement n:
# competency," and the page's hidden verdict word ("v-met", "v-not_yet", "v-none"), which grid.js
# swaps when the verdict changes, then "(evidence waiting)" ("ew") while the learner's evidence
# waits. Kept short: a page has 4,000.
WAITING_REF = " ew"


def statement_names(grid: dict[str, Any]) -> dict[int, str]:
    """A statement's short name in cell names: "Emerging statement 3: <competency>"."""
    return {
        s["id"]: f"{level['label']} statement {number}: {s['text'].partition(' — ')[0]}"
        for level in grid["levels"]
        for number, s in enumerate(level["statements"], start=1)
    }


def _notes(cell: dict[str, Any]) -> str:
    """The cell's recorded comment and evidence, and whether the comment is shown in the
    learner's credential, as the dialog opens with them."""
    comment, evidence = cell.get("comment"), cell.get("evidence_url")
    return (
        (f' data-comment="{escape(comment)}"' if comment else "")
        + (f' data-evidence="{escape(evidence)}"' if evidence else "")
        + (" data-show-in-credential" if cell.get("show_in_credential") else "")
    )


def grid_rows(grid: dict[str, Any], waiting: Set[tuple[int, int]] = frozenset()) -> Markup:
    """`<tr>` per learner: the row header (the learner's name alone), a progress cell (statements
    met, levels achieved, and the row's menu of per-level bulk actions), then one cell per
    statement with its current verdict."""
    statement_ids = [s["id"] for level in grid["levels"] for s in level["statements"]]
    total = len(statement_ids)
    cells = {(c["learner_id"], c["statement_id"]): c for c in grid["cells"]}
    labels = {level["key"]: escape(level["label"]) for level in grid["levels"]}
    parts: list[str] = []
    for learner in grid["learners"]:
        learner_id = int(learner["id"])
        name = escape(learner["name"])
        achieved = set(learner["achieved"])
        badges = "".join(
            f'<span class="badge" data-level="{escape(key)}">✓ {label}</span>'
            for key, label in labels.items()
            if key in achieved
        )
        cells_html: list[str] = []
        met = 0
        for sid in statement_ids:
            key = (learner_id, sid)
            cell = cells.get(key)
            verdict, notes = (cell["verdict"], _notes(cell)) if cell else ("", "")
            met += verdict == "met"
            ref, flag = (WAITING_REF, " data-evidence-waiting") if key in waiting else ("", "")
            cells_html.append(
                f'<td><button class="cell" tabindex="-1" aria-labelledby="n{learner_id} h{sid}'
                f' v-{verdict or "none"}{ref}" data-statement="{sid}" data-verdict="{verdict}"'
                f"{notes}{flag}>{VERDICT_TEXT[verdict]}</button></td>"
            )
        parts.append(
            f'<tr data-learner="{learner_id}">'
            f'<th scope="row" class="learner" id="l-{learner_id}" tabindex="-1">'
            f'<span class="name">{name}</span><span hidden id="n{learner_id}">{name},</span></th>'
            f'<td class="progress"><span class="met-count"><span data-met>{met}</span>/{total}'
            f' met</span><button type="button" class="row-menu" tabindex="-1" '
            f'aria-haspopup="menu" aria-expanded="false" aria-controls="row-menu" '
            f'aria-label="All met… for {name}: choose a level">All met…</button>'
            f'<span class="achieved" data-achieved>{badges}</span></td>'
        )
        parts.extend(cells_html)
        parts.append("</tr>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
