"""The grid's body rows as HTML, built in Python: a page of 100 learners x 40 statements is 4,000
cells, and a Jinja loop with per-cell logic costs about 100 ms where this costs a few. Every text
is escaped.

Each cell is a button named "learner, statement, verdict" (`aria-labelledby`), then "(evidence
waiting)" when its (learner id, statement id) is in `waiting`: a learner's evidence for the
evaluator to look at (the cell then carries `data-evidence-waiting`, marked by the style sheet)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
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


def _cell(statement_id: int, verdict: str, notes: str = "", waiting: bool = False) -> str:
    """A cell's markup after its row's `<td><button ... aria-labelledby="n{learner} h`."""
    ref, flag = (WAITING_REF, " data-evidence-waiting") if waiting else ("", "")
    return (
        f'{statement_id} v-{verdict or "none"}{ref}" data-statement="{statement_id}"'
        f' data-verdict="{verdict}"{notes}{flag}>{VERDICT_TEXT[verdict]}</button></td>'
    )


def _notes(comment: str | None, evidence: str | None, shown: bool) -> str:
    """The cell's recorded comment and evidence, and whether the comment is shown in the
    learner's credential, as the dialog opens with them."""
    return (
        (f' data-comment="{escape(comment)}"' if comment else "")
        + (f' data-evidence="{escape(evidence)}"' if evidence else "")
        + (" data-show-in-credential" if shown else "")
    )


def _judged(cell: Sequence[Any] | None) -> tuple[str, str]:
    """A current cell's verdict and notes; "" and "" when it is cleared or was never judged."""
    if cell is None or cell[2] == "clear":
        return "", ""
    return cell[2], _notes(cell[3], cell[4], cell[5])


def _row_cells(
    statement_ids: list[int],
    met: dict[int, int],
    cells: Mapping[tuple[int, int], Sequence[Any]],
    waiting: Set[tuple[int, int]],
) -> tuple[dict[int, list[str]], list[str]]:
    """Each row's cells as `_cell` makes them, for the learners in `met` with a judged cell or
    evidence waiting (counting in `met` the statements they have met), and the row of a learner
    with neither. Work a judged cell, not a cell: rows start as copies of the empty one, and
    alike cells (same statement, verdict and notes, as after a bulk action) are made once."""
    position = {sid: i for i, sid in enumerate(statement_ids)}
    empty = [_cell(sid, "") for sid in statement_ids]
    rows: dict[int, list[str]] = {}
    made: dict[tuple[Any, ...], str] = {}
    for current in cells.values():
        learner_id, sid, verdict = current[0], current[1], current[2]
        i = position.get(sid)
        if i is None or verdict == "clear" or learner_id not in met:
            continue
        key = tuple(current[1:6])  # statement, verdict and notes
        cell = made.get(key)
        if cell is None:
            cell = made[key] = _cell(sid, *_judged(current))
        (rows.get(learner_id) or rows.setdefault(learner_id, empty.copy()))[i] = cell
        met[learner_id] += verdict == "met"
    for learner_id, sid in waiting:
        i = position.get(sid)
        if i is not None and learner_id in met:
            cell = _cell(sid, *_judged(cells.get((learner_id, sid))), waiting=True)
            (rows.get(learner_id) or rows.setdefault(learner_id, empty.copy()))[i] = cell
    return rows, empty


def grid_rows(
    grid: dict[str, Any],
    cells: Mapping[tuple[int, int], Sequence[Any]],
    waiting: Set[tuple[int, int]] = frozenset(),
) -> Markup:
    """`<tr>` per learner: the row header (the learner's name alone), a progress cell (statements
    met, levels achieved, and the row's menu of per-level bulk actions), then one cell per
    statement with its current verdict. `cells`: the current cells by (learner id, statement
    id), rows of learner id, statement id, verdict ("clear": not judged), comment, evidence URL
    and show-in-credential (`current_cells.current_notes`); other cells are not judged."""
    statement_ids = [s["id"] for level in grid["levels"] for s in level["statements"]]
    total = len(statement_ids)
    met = {int(learner["id"]): 0 for learner in grid["learners"]}
    row_cells, empty = _row_cells(statement_ids, met, cells, waiting)
    badges_of = {
        level["key"]: f'<span class="badge" data-level="{escape(level["key"])}">'
        f"✓ {escape(level['label'])}</span>"
        for level in grid["levels"]
    }
    parts: list[str] = []
    for learner in grid["learners"]:
        learner_id = int(learner["id"])
        name = escape(learner["name"])
        achieved = set(learner["achieved"])
        badges = "".join(badge for key, badge in badges_of.items() if key in achieved)
        parts.append(
            f'<tr data-learner="{learner_id}">'
            f'<th scope="row" class="learner" id="l-{learner_id}" tabindex="-1">'
            f'<span class="name">{name}</span><span hidden id="n{learner_id}">{name},</span></th>'
            f'<td class="progress"><span class="met-count"><span data-met>{met[learner_id]}'
            f"</span>/{total} met</span>"
            f'<button type="button" class="row-menu" tabindex="-1" '
            f'aria-haspopup="menu" aria-expanded="false" aria-controls="row-menu" '
            f'aria-label="All met… for {name}: choose a level">All met…</button>'
            f'<span class="achieved" data-achieved>{badges}</span></td>'
        )
        if total:
            start = f'<td><button class="cell" tabindex="-1" aria-labelledby="n{learner_id} h'
            parts.append(start + start.join(row_cells.get(learner_id, empty)))
        parts.append("</tr>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
