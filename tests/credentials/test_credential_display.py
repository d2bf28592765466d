"""What the app's credentials show (issue 14), on SQLite and PostgreSQL: evidence of every
statement met with only the comments the evaluator ticked; the level's badge image and the baked
SVG; the learner's choice to show their name, re-issuing their credentials; the public and learner
pages offering sharing only while a credential is in force."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.assessment import awards
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials import untrusted
from lms_plugin.credentials.models import Credential
from lms_plugin.database import db
from tests.courses import Course
from tests.credentials.test_app import dcc_case, document, sign_queued, verify
from tests.credentials.test_builder import validate


def judge_level(course: Course, learner_index: int = 0) -> list[int]:
    """Every emerging statement met: the first with evidence and a shown comment, the second with
    a comment not shown."""
    learner = course.learner_ids[learner_index]
    statements = course.statements["emerging"]
    items: list[dict[str, Any]] = [
        {"learner_id": learner, "statement_id": s, "verdict": "met"} for s in statements
    ]
    items[0] |= {
        "evidence_url": "https://portfolio.example.org/filing",
        "comment": "Filed forty folders unaided.",
        "show_in_credential": True,
    }
    items[1] |= {"comment": "Needed one reminder.", "show_in_credential": False}
    answer = course.staff.post("/api/v1/judgements", {"judgements": items})
    assert answer.status_code == 201, answer.json
    return statements


def issued(app: Flask, course: Course, learner_index: int = 0) -> dict[str, Any]:
    sign_queued(app)
    [listed] = course.learners[learner_index].get("/api/v1/progress").json["credentials"]
    return listed


def test_show_in_credential_is_a_judgement_field(course: Course) -> None:
    learner, statement = course.learner_ids[0], course.statements["emerging"][0]
    for wrong in ("yes", 1, "true"):
        bad = course.staff.judge((learner, statement, "met"), show_in_credential=wrong)
        assert bad.status_code == 400 and bad.json["index"] == 0
    done = course.staff.judge((learner, statement, "met"), comment="Good", show_in_credential=True)
    assert done.status_code == 201 and done.json["judgements"][0]["show_in_credential"] is True
    cell = course.staff.get("/api/v1/grid").json["cells"][0]
    assert cell["show_in_credential"] is True
    # A changed comment is not shown unless ticked again; an unticked cell is a change.
    changed = course.staff.judge((learner, statement, "met"), comment="Better")
    assert changed.json["judgements"][0]["show_in_credential"] is False
    same = course.staff.judge((learner, statement, "met"), show_in_credential=False)
    assert same.json["unchanged"] == [0]
    spec = course.staff.get("/api/v1/openapi.json").json
    item = spec["components"]["schemas"]["JudgementItem"]["properties"]
    assert item["show_in_credential"]["type"] == ["boolean", "null"]


def test_evidence_image_and_baked_badge(app: Flask, client: FlaskClient, course: Course) -> None:
    statements = judge_level(course)
    listed = issued(app, course)
    signed = document(client, listed["url"])
    validate(signed)
    evidence = signed["evidence"]
    assert len(evidence) == len(statements)
    assert evidence[0]["id"] == "https://portfolio.example.org/filing"
    assert evidence[0]["narrative"] == "Filed forty folders unaided."
    assert "narrative" not in evidence[1]  # the evaluator did not tick it
    assert all(re.fullmatch(r"Judged met on \d{4}-\d\d-\d\d\.", e["description"]) for e in evidence)
    assert "identifier" in signed["credentialSubject"]
    assert all(i["hashed"] for i in signed["credentialSubject"]["identifier"])  # no name

    image = signed["credentialSubject"]["achievement"]["image"]
    assert image["type"] == "Image" and "Emerging" in image["caption"]
    picture = client.get(urlsplit(image["id"]).path)
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    assert "<title" in picture.get_data(as_text=True)
    assert (
        client.get(urlsplit(image["id"]).path.replace("/badges/", "/badges/9")).status_code == 404
    )
    assert client.get("/issuers/nobody/badges/1.svg").status_code == 404

    baked = client.get(f"/credentials/{listed['id']}.svg?download=1")
    assert baked.status_code == 200 and baked.mimetype == "image/svg+xml"
    disposition = baked.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="[a-z0-9-]+-emerging-\d{4}-\d\d-\d\d\.svg"', disposition
    )
    inside = untrusted.read_baked_svg(baked.get_data())
    assert json.loads(inside) == signed
    assert verify(client, signed)["verified"] is True
    status_url = signed["credentialStatus"]["statusListCredential"]
    assert dcc_case(signed, {status_url: client.get(status_url).json})["verified"] is True

    download = client.get(f"/credentials/{listed['id']}.json?download=1")
    assert re.fullmatch(
        r'attachment; filename="[a-z0-9-]+-emerging-\d{4}-\d\d-\d\d\.json"',
        download.headers["Content-Disposition"],
    )

    page = client.get(listed["url"]).get_data(as_text=True)
    assert "Evidence" in page and "https://portfolio.example.org/filing" in page
    assert "Filed forty folders unaided." in page and "Needed one reminder." not in page
    assert "The learner chose not to show their name" in page


def test_the_learner_chooses_to_show_their_name(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    judge_level(course)
    first = issued(app, course)
    me, other = course.learners
    path = f"/launch/{me.launch_id}/credentials/name"
    page = me.get(f"/launch/{me.launch_id}").get_data(as_text=True)
    assert 'value="no" checked' in page  # the default: no name
    assert (
        me.client.post(path, data={"csrf_token": me.csrf, "show_name": "maybe"}).status_code == 400
    )
    assert me.client.post(path, data={"show_name": "yes"}).status_code in (400, 403)
    staff = course.staff.client.post(
        f"/launch/{course.staff.launch_id}/credentials/name",
        data={"csrf_token": course.staff.csrf, "show_name": "yes"},
    )
    assert staff.status_code == 403

    done = me.client.post(path, data={"csrf_token": me.csrf, "show_name": "yes"})
    assert done.status_code == 303
    listed = me.get("/api/v1/progress").json["credentials"]
    new, old = listed
    assert old["id"] == first["id"] and old["status"] == "revoked" and not old["shareable"]
    assert "Re-issued" in old["reason"] and old["linkedin_url"] is None
    assert new["status"] == "active" and new["shareable"]
    signed = document(client, new["url"])
    validate(signed)
    names = [i for i in signed["credentialSubject"]["identifier"] if i["identityType"] == "name"]
    assert names == [
        {
            "type": "IdentityObject",
            "identityHash": "Learner 0",
            "identityType": "name",
            "hashed": False,
        }
    ]
    assert verify(client, signed)["credential"]["earner"] == {"name": "Learner 0"}
    assert "Earned by <strong>Learner 0</strong>" in client.get(new["url"]).get_data(as_text=True)
    old_page = client.get(old["url"]).get_data(as_text=True)
    assert "Revoked on" in old_page and "Re-issued" in old_page

    again = me.client.post(path, data={"csrf_token": me.csrf, "show_name": "yes"})
    assert again.status_code == 303 and len(me.get("/api/v1/progress").json["credentials"]) == 2
    page = me.get(f"/launch/{me.launch_id}").get_data(as_text=True)
    assert 'value="yes" checked' in page and "Revoked: Re-issued" in page
    # The other learner's credentials are untouched.
    assert other.get("/api/v1/progress").json["credentials"] == []


def test_a_copy_bound_to_a_wallet_is_left_alone(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    judge_level(course)
    first = issued(app, course)
    with app.app_context():
        found = db.session.get(Credential, first["id"])
        achievement = db.session.get(LevelAchievement, found.achievement_id)
        awards.issue_for_achievement(
            db.session,
            app.extensions["issuer_settings"],
            achievement,
            learner_did="did:example:wallet-7",
        )
        db.session.commit()
    me = course.learners[0]
    me.client.post(
        f"/launch/{me.launch_id}/credentials/name", data={"csrf_token": me.csrf, "show_name": "yes"}
    )
    active = [c for c in me.get("/api/v1/progress").json["credentials"] if c["status"] == "active"]
    subjects = {c["id"]: document(client, c["url"])["credentialSubject"] for c in active}
    assert len(subjects) == 2 and first["id"] not in subjects
    [bound] = [s for s in subjects.values() if s.get("id") == "did:example:wallet-7"]
    [named] = [s for s in subjects.values() if "id" not in s]
    assert all(i["identityType"] != "name" for i in bound.get("identifier", []))
    assert any(i["identityType"] == "name" for i in named["identifier"])


def _share_links(page: str) -> list[str]:
    return re.findall(r'href="([^"]*(?:linkedin|download=1)[^"]*)"', page)


def test_public_page_shares_only_while_in_force(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    judge_level(course)
    listed = issued(app, course)
    page = client.get(listed["url"]).get_data(as_text=True)
    [linkedin] = [link for link in _share_links(page) if "linkedin" in link]
    query = parse_qs(urlsplit(linkedin.replace("&amp;", "&")).query)
    assert query["startTask"] == ["CERTIFICATION_NAME"] and query["certId"] == [listed["id"]]
    assert query["certUrl"] == [listed["url"]] and query["issueYear"][0].isdigit()
    assert query["organizationName"][0] and query["name"][0]
    assert len(_share_links(page)) == 3
    for tag in ("og:title", "og:image", "og:url", "og:description"):
        assert f'property="{tag}"' in page
    assert 'name="twitter:card" content="summary"' in page

    revoked = course.staff.client.post(
        f"/launch/{course.staff.launch_id}/credentials/{listed['id']}/revoke",
        data={"csrf_token": course.staff.csrf, "reason": "Issued <by mistake>"},
    )
    assert revoked.status_code == 303
    page = client.get(listed["url"]).get_data(as_text=True)
    assert _share_links(page) == []
    assert "Revoked on" in page and "Issued &lt;by mistake&gt;" in page
    learner_page = course.learners[0].get(f"/launch/{course.learners[0].launch_id}")
    text = learner_page.get_data(as_text=True)
    assert "Revoked: Issued &lt;by mistake&gt;" in text and _share_links(text) == []


def test_expired_credentials_offer_no_sharing(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    judge_level(course)
    listed = issued(app, course)
    with app.app_context():
        found = db.session.scalar(select(Credential).where(Credential.id == listed["id"]))
        found.valid_until = found.issued_at  # expired the moment it was issued
        db.session.commit()
    page = client.get(listed["url"]).get_data(as_text=True)
    assert "This credential is expired" in page and _share_links(page) == []
    [mine] = course.learners[0].get("/api/v1/progress").json["credentials"]
    assert mine["shareable"] is False and mine["linkedin_url"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/credentials/not-a-uuid.svg",
        "/credentials/%00.svg",
        "/credentials/%00",
        "/credentials/00000000-0000-4000-8000-000000000000.svg",
        "/issuers/%00/badges/1.svg",
        "/issuers/x/badges/99999999999999999999999.svg",
    ],
)
def test_unknown_or_hostile_ids_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404
