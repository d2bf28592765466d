"""The CSV exports: the grid (one row a learner) and the judgement history, with cells that
spreadsheets would run as formulas quoted."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response

from lms_plugin.assessment.models import Judgement
from lms_plugin.assessment.services import Placement
from lms_plugin.orm import utc_iso


def csv_response(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def safe_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def grid_rows(data: Mapping[str, Any]) -> list[list[Any]]:
    """The grid (`read_models.grid_json`) as a header and one row a learner."""
    statements = [(level["key"], s) for level in data["levels"] for s in level["statements"]]
    cells = {(c["learner_id"], c["statement_id"]): c["verdict"] for c in data["cells"]}
    header = ["learner_id", "learner", "levels_achieved"] + [
        f"{key}: {s['text']}" for key, s in statements
    ]
    rows = [
        [p["id"], p["name"], " ".join(p["achieved"])]
        + [cells.get((p["id"], s["id"]), "") for _, s in statements]
        for p in data["learners"]
    ]
    return [header, *rows]


def history_rows(
    placement: Placement, judgements: Sequence[Judgement], names: Mapping[int, str]
) -> list[list[Any]]:
    """The judgement history as a header and one row a judgement."""
    header = [
        "id",
        "judged_at",
        "learner_id",
        "learner",
        "statement_id",
        "statement",
        "verdict",
        "comment",
        "evidence_url",
        "judged_by",
    ]
    return [header] + [
        [
            j.id,
            utc_iso(j.judged_at),
            j.learner_id,
            names.get(j.learner_id, ""),
            j.statement_id,
            placement.statements[j.statement_id].text
            if j.statement_id in placement.statements
            else "",
            j.verdict,
            j.comment,
            j.evidence_url,
            names.get(j.judged_by_id, ""),
        ]
        for j in judgements
    ]
