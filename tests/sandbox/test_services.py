"""NRPS memberships and AGS line items, scores and results, with bearer-token scope checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.sandbox.models import SandboxLineItem, SandboxScore
from tests.sandbox.helpers import BASE, COURSE, LEARNER, FakeTool, access_token, add_link, bearer

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
MEMBERSHIPS = f"/sandbox/courses/{COURSE}/memberships"
LINEITEMS = f"/sandbox/courses/{COURSE}/lineitems"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"


def local(url: str) -> str:
    assert url.startswith(BASE)
    return url[len(BASE) :]


def post_json(client: FlaskClient, url: str, token: str, body: Any, media: str) -> Any:
    return client.post(url, data=json.dumps(body), headers={**bearer(token), "Content-Type": media})


def score(user: str = LEARNER, timestamp: str = "2026-11-22T10:00:00.000Z", **extra: Any) -> Any:
    body = {
        "userId": user,
        "scoreGiven": 2,
        "scoreMaximum": 4,
        "comment": "Two levels met — «bien joué»",
        "timestamp": timestamp,
        "activityProgress": "InProgress",
        "gradingProgress": "FullyGraded",
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


# --- NRPS -------------------------------------------------------------------------------------


def test_memberships_lists_everyone_with_roles(client: FlaskClient, tool: FakeTool) -> None:
    token = access_token(client, tool, NRPS)
    response = client.get(MEMBERSHIPS, headers=bearer(token))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    body = response.json
    assert body is not None
    assert body["id"] == f"{BASE}{MEMBERSHIPS}"
    assert body["context"] == {"id": COURSE, "label": "SBX-101", "title": "Sandbox Course 101"}
    members = {m["user_id"]: m for m in body["members"]}
    assert len(members) >= 6
    chloe = members[LEARNER]
    assert chloe == {
        "status": "Active",
        "name": "Chloé Dubois",
        "given_name": "Chloé",
        "family_name": "Dubois",
        "email": "chloe@sandbox.test",
        "user_id": LEARNER,
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    }
    assert "Sam O'Brien" in {m["name"] for m in members.values()}
    assert "Link" not in response.headers


def test_memberships_paging_follows_link_next(client: FlaskClient, tool: FakeTool) -> None:
    token = access_token(client, tool, NRPS)
    everyone = client.get(MEMBERSHIPS, headers=bearer(token)).json["members"]  # type: ignore[index]
    url: str | None = f"{MEMBERSHIPS}?limit=2"
    seen: list[str] = []
    pages = 0
    while url:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200
        members = response.json["members"]  # type: ignore[index]
        assert len(members) <= 2
        seen += [m["user_id"] for m in members]
        pages += 1
        link = response.headers.get("Link")
        url = local(link.split(";")[0].strip("<>")) if link else None
        if link:
            assert link.endswith('>; rel="next"')
    assert seen == [m["user_id"] for m in everyone]
    assert pages == -(-len(everyone) // 2)


def test_memberships_role_filter(client: FlaskClient, tool: FakeTool) -> None:
    token = access_token(client, tool, NRPS)
    learners = client.get(f"{MEMBERSHIPS}?role=Learner", headers=bearer(token)).json
    assert learners is not None
    assert learners["members"] and all(
        m["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
        for m in learners["members"]
    )
    full = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
    staff = client.get(MEMBERSHIPS, query_string={"role": full}, headers=bearer(token)).json
    assert staff is not None and len(staff["members"]) == 2


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "limit=2&page=0", "page=-1&limit=1"])
def test_memberships_bad_paging_is_400(client: FlaskClient, tool: FakeTool, query: str) -> None:
    token = access_token(client, tool, NRPS)
    response = client.get(f"{MEMBERSHIPS}?{query}", headers=bearer(token))
    assert response.status_code == 400
    assert "error" in response.json  # type: ignore[operator]


def test_memberships_unknown_resource_link_is_refused(client: FlaskClient, tool: FakeTool) -> None:
    token = access_token(client, tool, NRPS)
    assert client.get(f"{MEMBERSHIPS}?rlid=nope", headers=bearer(token)).status_code == 403


def test_service_authorization(client: FlaskClient, tool: FakeTool) -> None:
    missing = client.get(MEMBERSHIPS)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(MEMBERSHIPS, headers=bearer("made-up")).status_code == 401
    assert client.get(MEMBERSHIPS, headers={"Authorization": "Basic abc"}).status_code == 401
    wrong = client.get(MEMBERSHIPS, headers=bearer(access_token(client, tool, SCORE)))
    assert wrong.status_code == 403
    assert 'error="insufficient_scope"' in wrong.headers["WWW-Authenticate"]
    token = access_token(client, tool, NRPS)
    assert client.get("/sandbox/courses/nope/memberships", headers=bearer(token)).status_code == 404


def test_expired_access_token_is_401(
    client: FlaskClient, tool: FakeTool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms_plugin.sandbox import tokens

    monkeypatch.setattr(tokens, "TOKEN_SECONDS", -1)
    token = access_token(client, tool, NRPS)
    response = client.get(MEMBERSHIPS, headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# --- AGS line items ---------------------------------------------------------------------------


def test_line_item_lifecycle(sandbox: Flask, client: FlaskClient, tool: FakeTool) -> None:
    link, bound_id = add_link(sandbox)
    token = access_token(client, tool, LINEITEM)
    created = post_json(
        client,
        LINEITEMS,
        token,
        {
            "label": "Competency levels",
            "scoreMaximum": 3,
            "resourceId": "framework-1",
            "tag": "competency-levels",
            "resourceLinkId": link,
            "startDateTime": "2026-11-01T00:00:00Z",
        },
        LINEITEM_TYPE,
    )
    assert created.status_code == 201
    assert created.mimetype == LINEITEM_TYPE
    item = created.json
    assert item is not None
    assert item["id"].startswith(f"{BASE}{LINEITEMS}/")
    assert created.headers["Location"] == item["id"]
    assert item["label"] == "Competency levels"
    assert item["scoreMaximum"] == 3
    assert item["resourceLinkId"] == link
    assert item["startDateTime"] == "2026-11-01T00:00:00+00:00"

    listing = client.get(LINEITEMS, headers=bearer(token))
    assert listing.mimetype == "application/vnd.ims.lis.v2.lineitemcontainer+json"
    assert [i["id"] for i in listing.json] == [  # type: ignore[union-attr]
        f"{BASE}{LINEITEMS}/{bound_id}",
        item["id"],
    ]
    for query, expected in [
        ("resource_id=framework-1", [item["id"]]),
        ("tag=competency-levels", [item["id"]]),
        (f"resource_link_id={link}", [f"{BASE}{LINEITEMS}/{bound_id}", item["id"]]),
        ("resource_link_id=other", []),
        ("limit=1", [f"{BASE}{LINEITEMS}/{bound_id}"]),
    ]:
        found = client.get(f"{LINEITEMS}?{query}", headers=bearer(token)).json
        assert [i["id"] for i in found] == expected, query  # type: ignore[union-attr]
    paged = client.get(f"{LINEITEMS}?limit=1", headers=bearer(token))
    assert "page=2" in paged.headers["Link"]

    one = client.get(local(item["id"]), headers=bearer(token))
    assert one.status_code == 200 and one.json == item

    updated = client.put(
        local(item["id"]),
        data=json.dumps({**item, "label": "Renamed", "scoreMaximum": 5}),
        headers={**bearer(token), "Content-Type": LINEITEM_TYPE},
    )
    assert updated.status_code == 200
    assert updated.json["label"] == "Renamed"  # type: ignore[index]
    assert updated.json["scoreMaximum"] == 5  # type: ignore[index]

    assert client.delete(local(item["id"]), headers=bearer(token)).status_code == 204
    assert client.get(local(item["id"]), headers=bearer(token)).status_code == 404


def test_read_only_scope_can_read_but_not_write(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    _, item_id = add_link(sandbox)
    token = access_token(client, tool, LINEITEM_READONLY)
    assert client.get(LINEITEMS, headers=bearer(token)).status_code == 200
    assert client.get(f"{LINEITEMS}/{item_id}", headers=bearer(token)).status_code == 200
    body = {"label": "x", "scoreMaximum": 1}
    assert post_json(client, LINEITEMS, token, body, LINEITEM_TYPE).status_code == 403
    assert client.delete(f"{LINEITEMS}/{item_id}", headers=bearer(token)).status_code == 403
    assert (
        post_json(client, f"{LINEITEMS}/{item_id}/scores", token, score(), SCORE_TYPE).status_code
        == 403
    )
    assert client.get(f"{LINEITEMS}/{item_id}/results", headers=bearer(token)).status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scoreMaximum": 3}, "label"),
        ({"label": "", "scoreMaximum": 3}, "label"),
        ({"label": "x"}, "scoreMaximum"),
        ({"label": "x", "scoreMaximum": 0}, "scoreMaximum"),
        ({"label": "x", "scoreMaximum": "3"}, "scoreMaximum"),
        ({"label": "x", "scoreMaximum": True}, "scoreMaximum"),
        ({"label": "x", "scoreMaximum": 3, "resourceLinkId": "nope"}, "resourceLinkId"),
        ({"label": "x", "scoreMaximum": 3, "tag": 5}, "tag"),
        ({"label": "x", "scoreMaximum": 3, "startDateTime": "yesterday"}, "startDateTime"),
        ({"label": "x", "scoreMaximum": 3, "endDateTime": "2026-01-01T00:00:00"}, "time zone"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_line_items_are_400_and_nothing_is_stored(
    sandbox: Flask, client: FlaskClient, tool: FakeTool, body: Any, message: str
) -> None:
    token = access_token(client, tool, LINEITEM)
    response = post_json(client, LINEITEMS, token, body, LINEITEM_TYPE)
    assert response.status_code == 400
    assert message in response.json["error"]  # type: ignore[index]
    with sandbox.app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxLineItem)) == 0


def test_bodies_must_be_json_of_the_right_type(client: FlaskClient, tool: FakeTool) -> None:
    token = access_token(client, tool, LINEITEM)
    wrong_type = client.post(
        LINEITEMS, data="label=x", headers={**bearer(token), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    broken = client.post(
        LINEITEMS, data="{not json", headers={**bearer(token), "Content-Type": LINEITEM_TYPE}
    )
    assert broken.status_code == 400
    assert client.get(f"{LINEITEMS}/999", headers=bearer(token)).status_code == 404


# --- AGS scores and results -------------------------------------------------------------------


def test_scores_and_results(sandbox: Flask, client: FlaskClient, tool: FakeTool) -> None:
    _, item_id = add_link(sandbox)
    token = access_token(client, tool, SCORE, RESULT)
    scores_url = f"{LINEITEMS}/{item_id}/scores"

    first = post_json(client, scores_url, token, score(), SCORE_TYPE)
    assert first.status_code == 200, first.json
    assert first.json["resultUrl"].startswith(f"{BASE}{LINEITEMS}/{item_id}/results")  # type: ignore[index]

    same_again = post_json(client, scores_url, token, score(), SCORE_TYPE)
    assert same_again.status_code == 200

    older = post_json(
        client, scores_url, token, score(timestamp="2026-11-22T09:00:00Z", scoreGiven=4), SCORE_TYPE
    )
    assert older.status_code == 409
    same_time_other_value = post_json(client, scores_url, token, score(scoreGiven=3), SCORE_TYPE)
    assert same_time_other_value.status_code == 409

    newer = post_json(
        client,
        scores_url,
        token,
        score(timestamp="2026-11-22T11:00:00+01:00", scoreGiven=1, scoreMaximum=2),
        SCORE_TYPE,
    )
    assert newer.status_code == 409  # 10:00Z, the same instant with a different value
    newest = post_json(
        client,
        scores_url,
        token,
        score(timestamp="2026-11-22T12:00:00Z", scoreGiven=1, scoreMaximum=2, comment=None),
        SCORE_TYPE,
    )
    assert newest.status_code == 200
    plain_json = post_json(
        client,
        scores_url,
        token,
        score(user="sandbox-user-dmitri", activityProgress="Completed"),
        "application/json",
    )
    assert plain_json.status_code == 200

    results = client.get(f"{LINEITEMS}/{item_id}/results", headers=bearer(token))
    assert results.status_code == 200
    assert results.mimetype == "application/vnd.ims.lis.v2.resultcontainer+json"
    by_user = {r["userId"]: r for r in results.json}  # type: ignore[union-attr]
    assert by_user[LEARNER]["resultScore"] == 2.0  # 1/2 scaled to the line item's 4
    assert by_user[LEARNER]["resultMaximum"] == 4.0
    assert by_user[LEARNER]["scoreOf"] == f"{BASE}{LINEITEMS}/{item_id}"
    assert "comment" not in by_user[LEARNER]
    assert by_user["sandbox-user-dmitri"]["comment"] == "Two levels met — «bien joué»"
    only = client.get(
        f"{LINEITEMS}/{item_id}/results?user_id=sandbox-user-dmitri", headers=bearer(token)
    ).json
    assert [r["userId"] for r in only] == ["sandbox-user-dmitri"]  # type: ignore[union-attr]

    with sandbox.app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxScore)) == 3
    page = client.get("/sandbox").get_data(as_text=True)
    assert "Two levels met — «bien joué»" in page
    assert "2.0 / 4.0" in page and "1.0 / 2.0" in page
    assert "InProgress" in page and "FullyGraded" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"userId": "nobody"}, "not a member"),
        ({"userId": None}, "userId"),
        ({"scoreGiven": -1}, "scoreGiven"),
        ({"scoreGiven": "2"}, "scoreGiven"),
        ({"scoreMaximum": None}, "scoreMaximum"),
        ({"scoreMaximum": 0}, "scoreMaximum"),
        ({"activityProgress": "Done"}, "activityProgress"),
        ({"activityProgress": None}, "activityProgress"),
        ({"gradingProgress": "Graded"}, "gradingProgress"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "2026-11-22T10:00:00"}, "time zone"),
        ({"timestamp": "22/11/2026"}, "timestamp"),
        ({"comment": 5}, "comment"),
    ],
)
def test_bad_scores_are_400_and_nothing_is_stored(
    sandbox: Flask, client: FlaskClient, tool: FakeTool, changes: dict[str, Any], message: str
) -> None:
    _, item_id = add_link(sandbox)
    token = access_token(client, tool, SCORE)
    body = score()
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    response = post_json(client, f"{LINEITEMS}/{item_id}/scores", token, body, SCORE_TYPE)
    assert response.status_code == 400
    assert message in response.json["error"]  # type: ignore[index]
    with sandbox.app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxScore)) == 0


def test_score_without_score_given_records_progress(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    _, item_id = add_link(sandbox)
    token = access_token(client, tool, SCORE, RESULT)
    body = score(
        scoreGiven=None, scoreMaximum=None, activityProgress="Started", gradingProgress="NotReady"
    )
    assert (
        post_json(client, f"{LINEITEMS}/{item_id}/scores", token, body, SCORE_TYPE).status_code
        == 200
    )
    (result,) = client.get(f"{LINEITEMS}/{item_id}/results", headers=bearer(token)).json  # type: ignore[misc]
    assert "resultScore" not in result


def test_nul_characters_are_refused_not_a_server_error(
    sandbox: Flask, client: FlaskClient, tool: FakeTool
) -> None:
    _, item_id = add_link(sandbox)
    token = access_token(client, tool, NRPS, LINEITEM, SCORE)
    assert client.get(f"{MEMBERSHIPS}?rlid=%00", headers=bearer(token)).status_code == 400
    assert client.get(f"{LINEITEMS}?tag=a%00b", headers=bearer(token)).status_code == 400
    body = {"label": "a\u0000b", "scoreMaximum": 1}
    assert post_json(client, LINEITEMS, token, body, LINEITEM_TYPE).status_code == 400
    bad_score = score(comment="x\u0000")
    url = f"{LINEITEMS}/{item_id}/scores"
    assert post_json(client, url, token, bad_score, SCORE_TYPE).status_code == 400
    assert client.get("/sandbox/launch?user=%00&link=x").status_code == 400
    with sandbox.app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxScore)) == 0
