"""Credentials align each statement to its CASE CFItem, which the tool serves."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from tests.courses import Course
from tests.credentials.test_app import achieve, document


def test_issued_credentials_align_statements_to_their_cfitems(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    signed = document(client, achieve(app, course)["url"])

    alignments = signed["credentialSubject"]["achievement"]["alignment"]
    statements = [a for a in alignments if a["targetType"] == "CFItem"]
    assert len(statements) == len(course.statements["emerging"]) == len(alignments) - 1
    for alignment in statements:
        url = urlsplit(alignment["targetUrl"])
        assert url.path.startswith("/ims/case/v1p0/CFItems/")
        item = client.get(url.path).json
        assert item is not None
        assert item["fullStatement"] == alignment["targetName"]
        assert item["uri"] == alignment["targetUrl"]
