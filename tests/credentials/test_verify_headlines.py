"""The headline says plainly what is wrong ("Revoked on <date>: <reason>", "Altered after
signing", "Expired on <date>", "Issuer unknown"); the CLI exits 2 for JSON that is no credential
at all; result ids are IRIs with one `#`, and credentials issued with two still verify."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.commands import cli
from lms_plugin.credentials import dids, signing, verifying
from lms_plugin.credentials.builder import Level, Statement
from lms_plugin.credentials.documents import VC_V2
from tests.courses import Course
from tests.credentials.conftest import BASE, NOW, IssuerWorld, dcc_verify
from tests.credentials.test_verify_facts import foreign, issued, pasted


def verdict(world: IssuerWorld, credential: dict[str, Any], revoked: tuple[int, ...] = ()) -> Any:
    documents = world.documents(world.status_list(revoked=revoked))
    return verifying.verify_credential(
        credential, resolve_key=documents.get, fetch_status_list=documents.get
    ).to_json()


def test_each_problem_has_its_headline(world: IssuerWorld) -> None:
    good, index = world.signed()
    assert verifying.headline(verdict(world, good)) == {"kind": "issuer-unknown"}
    trusted = verdict(world, good)
    trusted["credential"]["issuer"]["trust"] = "registry"
    assert verifying.headline(trusted) == {"kind": "verified"}

    revoked = verifying.headline(verdict(world, good, revoked=(index,)))
    assert revoked == {"kind": "revoked", "date": None, "reason": None}

    altered = copy.deepcopy(good)
    altered["name"] = "Something else"
    assert verifying.headline(verdict(world, altered, revoked=(index,))) == {"kind": "altered"}

    expired, _ = world.signed(
        valid_from=NOW - dt.timedelta(days=10), valid_until=NOW - dt.timedelta(days=1)
    )
    assert verifying.headline(verdict(world, expired)) == {
        "kind": "expired",
        "date": expired["validUntil"],
    }
    early, _ = world.signed(valid_from=NOW + dt.timedelta(days=3))
    assert verifying.headline(verdict(world, early)) == {
        "kind": "not-yet-valid",
        "date": early["validFrom"],
    }
    rogue, _ = world.signed(key=world.rogue)
    assert verifying.headline(verdict(world, rogue))["kind"] == "altered"
    unsigned = {k: v for k, v in good.items() if k != "proof"}
    assert verifying.headline(verdict(world, unsigned)) == {"kind": "unsigned"}
    assert verifying.headline(verdict(world, {"hello": "world"})) == {"kind": "unreadable"}
    assert verifying.headline(verifying.refused("busy")) == {"kind": "unreadable"}


def test_the_page_says_revoked_on_the_date_with_the_reason(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    credential_id, signed = issued(app, client, course)
    runner = app.test_cli_runner()
    done = runner.invoke(cli, ["credentials", "revoke", credential_id, "--reason", "Wrong learner"])
    assert done.exit_code == 0, done.output

    page = pasted(client, signed)

    banner = page.split('class="verdict-banner')[1].split("</p>")[0]
    assert re.search(
        r"✗ Revoked on <time datetime=\"[^\"]+\">[^<]+UTC</time>: Wrong learner", banner
    )
    assert "Issued by " in page and ": this tool itself." in page
    # The failed check says it once; no "Problems" list repeats it.
    assert page.count("The issuer has revoked it") == 1 and "<h3>Problems</h3>" not in page


def test_the_page_says_altered_expired_and_issuer_unknown(
    client: FlaskClient, world: IssuerWorld
) -> None:
    theirs = foreign(world)
    assert "! Issuer unknown: authentic and unaltered" in pasted(client, theirs)
    assert "Not in any registry you trust." in pasted(client, theirs)

    altered = copy.deepcopy(theirs)
    altered["credentialSubject"]["achievement"]["name"] = "Chief Justice"
    assert "✗ Altered after signing" in pasted(client, altered)

    unsigned, _ = world.credential(
        issuer=dids.did_key(world.rogue),
        valid_from=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
        valid_until=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        with_status=False,
    )
    expired = signing.sign_credential(
        unsigned, world.rogue, dids.did_key_verification_method(world.rogue)
    )
    page = pasted(client, expired)
    assert (
        '✗ Expired on <time datetime="2026-01-02T03:04:00Z">2 Jan 2026, 03:04 UTC</time>.' in page
    )


def test_pages_name_no_library_errors(client: FlaskClient) -> None:
    form = client.get("/verify").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/verify", data={"csrf_token": token, "url": "http://127.0.0.1:9/x"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "127.0.0.1 could not be reached" in text
    assert "Error" not in text.split("<main")[1]  # no ConnectionError, JSONDecodeError...


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"hello": "world"}, 2),
        ({"name": "A badge", "issuer": "someone"}, 2),
        ({"@context": [VC_V2], "type": "X"}, 1),  # a credential, badly formed
        ({"type": ["VerifiableCredential"]}, 1),
    ],
)
def test_the_cli_exits_2_for_json_that_is_no_credential_at_all(
    app: Flask, client: FlaskClient, tmp_path: Path, document: dict[str, Any], code: int
) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))

    printed = app.test_cli_runner().invoke(cli, ["credentials", "verify", str(path)])

    assert printed.exit_code == code, printed.output
    # The same JSON as the API, which answers it as not verified.
    assert json.loads(printed.output) == client.post("/api/v1/verify", json=document).json
    assert json.loads(printed.output)["verified"] is False


def hash_level() -> Level:
    """A level as the tool names them: a fragment of the framework's page."""
    return Level(
        key="level-1",
        label="Emerging",
        url=f"{BASE}/frameworks/1#level-1",
        statements=[Statement(text="Files legal documents.", url=f"{BASE}/statements/1")],
    )


def test_result_ids_are_iris_with_one_hash(world: IssuerWorld) -> None:
    signed, _ = world.signed(level=hash_level())
    achievement = signed["credentialSubject"]["achievement"]
    [description] = achievement["resultDescription"]
    [result] = signed["credentialSubject"]["result"]
    ids = [
        description["id"],
        description["requiredLevel"],
        description["rubricCriterionLevel"][0]["id"],
        result["resultDescription"],
        result["achievedLevel"],
    ]
    assert ids[0] == result["resultDescription"] == f"{BASE}/frameworks/1#level-1-result"
    assert all(i.count("#") == 1 for i in ids), ids
    assert achievement["id"] == f"{BASE}/frameworks/1#level-1"  # unchanged: xAPI uses it too
    assert verdict(world, signed)["credential"]["achievement"]["level"] == "Emerging"
    # Without a fragment in the level's URL, the parts are fragments of it (as before).
    plain, _ = world.signed()
    assert plain["credentialSubject"]["result"][0]["resultDescription"].endswith("emerging#result")


def test_credentials_issued_with_two_hashes_still_verify(world: IssuerWorld) -> None:
    unsigned, _ = world.credential(level=hash_level())
    old = json.loads(
        json.dumps(unsigned)
        .replace("#level-1-result", "#level-1#result")
        .replace("#level-1-level", "#level-1#level")
    )
    assert old["credentialSubject"]["result"][0]["achievedLevel"].endswith("#level-1#level")
    signed = signing.sign_credential(old, world.current, world.method())

    answer = verdict(world, signed)

    assert answer["verified"] is True, answer
    assert answer["credential"]["achievement"]["level"] == "Emerging"


def test_the_dcc_verifier_accepts_new_and_old_result_ids(world: IssuerWorld) -> None:
    new, _ = world.signed(level=hash_level())
    unsigned, _ = world.credential(level=hash_level())
    old = signing.sign_credential(
        json.loads(json.dumps(unsigned).replace("#level-1-", "#level-1#")),
        world.current,
        world.method(),
    )
    cases = [
        {"name": name, "credential": credential, "documents": world.documents()}
        for name, credential in (("new", new), ("old", old))
    ]

    answers = dcc_verify(cases)["results"]

    assert [answer["verified"] for answer in answers] == [True, True], answers
