"""Every framework on /frameworks, grouped by occupation; a version's page lists all versions."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.frameworks.parsing import parse_framework, read_framework_file
from tests.builders import SEED_FILES, framework_document
from tests.courses import Course


def imported(app: Flask, document: dict[str, object], name: str = "f.json") -> int:
    with app.app_context():
        result = services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), name)
        )
        db.session.commit()
        return result.version.id


def rows(html: str) -> list[list[str]]:
    body = html.split('<table class="versions">', 1)[1].split("</table>", 1)[0]
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in found
    ]


def test_frameworks_are_grouped_by_occupation_each_with_its_statements(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        services.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()
    ai_use = framework_document(
        {"emerging": ("Emerging", ["AI drafting — reviewed before sending."])},
        soc="43-6012.00",
        title="Legal Secretaries and Administrative Assistants",
    )
    ai_use["framework"]["title"] = "AI use"
    imported(app, ai_use)

    html = client.get("/frameworks").get_data(as_text=True)

    secretaries = next(s for s in html.split('<section class="occupation"') if "43-6012.00" in s)
    assert "2 frameworks" in secretaries
    assert ">AI use</a>" in secretaries
    assert "AI drafting" in secretaries
    assert secretaries.count('class="statement"') == 41
    assert html.count('<article class="framework"') == 3


def test_a_version_page_lists_every_version_with_use_and_marks_the_current(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    emerging = course.statements["emerging"]
    learner = course.learner_ids[0]
    assert (
        course.staff.judge((learner, emerging[0], "met"), (learner, emerging[1], "met")).status_code
        == 201
    )
    with app.app_context():
        old = db.session.get(FrameworkVersion, course.version_id)
        assert old is not None
        document = json.loads(next(p for p in SEED_FILES if p.name == old.source_name).read_text())
    document["framework"]["levels"]["emerging"]["statements"][0] += " (revised)"
    new_id = imported(app, document)

    old_page = client.get(f"/frameworks/{course.version_id}").get_data(as_text=True)
    new_page = client.get(f"/frameworks/{new_id}").get_data(as_text=True)

    assert "This is an earlier version of this framework" in old_page
    assert f'href="/frameworks/{new_id}"' in old_page
    assert "earlier version" not in new_page
    assert [r[:6] for r in rows(new_page)] == [r[:6] for r in rows(old_page)]
    assert rows(old_page)[0][6] == "earlier (this page)"
    table = rows(new_page)
    assert [(r[0], r[3], r[4], r[5]) for r in table] == [
        ("1", "40", "1", "2"),
        ("2", "40", "0", "0"),
    ]
    assert (table[0][6], table[1][6]) == ("earlier", "current (this page)")
