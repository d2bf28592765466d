"""The public frameworks pages (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.database import db
from lms_plugin.frameworks import services
from lms_plugin.frameworks.parsing import parse_framework, read_framework_file
from tests.builders import SEED_FILES, framework_document


def statements_on(html: str) -> list[str]:
    items = re.findall(r'<li id="statement-\d+" class="statement">(.*?)</li>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def test_frameworks_page_lists_both_seeds_with_all_80_statements(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        services.import_frameworks(db.session, map(read_framework_file, SEED_FILES))
        db.session.commit()

    response = client.get("/frameworks")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    expected = [
        text
        for path in SEED_FILES
        for level in json.loads(path.read_text(encoding="utf-8"))["framework"]["levels"].values()
        for text in level["statements"]
    ]
    assert len(expected) == 80
    assert sorted(statements_on(html)) == sorted(expected)
    assert "Legal Secretaries and Administrative Assistants" in html
    assert "Legal Support Workers, All Other" in html
    assert html.count("© EBSCOed") == 2
    # Attribution as prose, never the export's raw keys.
    attribution = re.findall(r'<p class="attribution">(.*?)</p>', html, re.S)
    assert [unescape(text) for text in attribution] == [
        "© EBSCOed. Built on O*NET v30.2 (CC BY 4.0); skills crosswalk from "
        "https://skillscrosswalk.com; exported by LER.me."
    ] * 2
    assert "onet:" not in html and "crosswalk:" not in html


def test_framework_detail_page_and_unknown_id(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        result = services.import_framework(
            db.session, parse_framework(json.dumps(framework_document()).encode(), "t.json")
        )
        db.session.commit()
        version_id = result.version.id

    page = client.get(f"/frameworks/{version_id}")
    assert page.status_code == 200
    assert statements_on(page.get_data(as_text=True)) == [
        "Files — keep them tidy.",
        "Calls — answer them politely.",
        "Budgets — plan a year ahead.",
    ]
    missing = client.get(f"/frameworks/{version_id + 1000}")
    assert missing.status_code == 404
    assert "no framework version with this id" in missing.get_data(as_text=True)


def test_framework_text_is_escaped(app: Flask, client: FlaskClient) -> None:
    hostile = '<script>alert("x")</script> — <img src=x onerror=alert(1)>'
    document = framework_document({"a": ("<b>Level</b>", [hostile])}, title="<i>Evil</i> & Co")
    with app.app_context():
        services.import_framework(
            db.session, parse_framework(json.dumps(document).encode(), "evil.json")
        )
        db.session.commit()

    html = client.get("/frameworks").get_data(as_text=True)

    assert "<script>" not in html and "<img" not in html and "<i>Evil" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;i&gt;Evil&lt;/i&gt; &amp; Co" in html
    assert statements_on(html) == [hostile]


def test_empty_catalogue_says_how_to_import(client: FlaskClient) -> None:
    html = client.get("/frameworks").get_data(as_text=True)
    assert "No framework has been imported yet" in html


def test_an_id_beyond_the_integer_range_is_a_404_not_a_crash(client: FlaskClient) -> None:
    assert client.get("/frameworks/99999999999999999999").status_code == 404
