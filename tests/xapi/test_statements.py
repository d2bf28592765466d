"""The statement builders, without a database: shape, vocabulary, ids and exact bytes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest

from tests.xapi.lrs_tools import validate_statements
from tests.xapi.tincan_expected import tincan_judgement
from xapi import statements as x
from xapi.statements import (
    AgentRef,
    CompetencyRef,
    FrameworkRef,
    LevelRef,
    PlacementRef,
    StatementFactory,
    credential_issued_statement,
)

BASE = "https://tool.example.edu"
AT = dt.datetime(2026, 11, 22, 20, 56, 53, 635024, tzinfo=dt.UTC)
LEARNER = AgentRef("https://lms.example.edu", "sub-learner", "Chloé Dubois", "chloe@example.edu")
TEACHER = AgentRef("https://lms.example.edu", "sub-teacher", "Ada Teacher")
FRAMEWORK = FrameworkRef(7, "Legal Secretaries and Administrative Assistants", "2025.1")
LEVEL = LevelRef(31, "emerging", "Emerging")
COMPETENCY = CompetencyRef(412, "Prepare legal documents — from a partner's dictation")
PLACEMENT = PlacementRef(3, "course-1", "Legal Support 101", 9, "link-1", "Competencies", "dep-1")


def judgement_arguments(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments of a judgement statement (a met one with comment and evidence)."""
    return {
        "judgement_id": 55,
        "judged_at": AT,
        "verdict": "met",
        "learner": LEARNER,
        "evaluator": TEACHER,
        "competency": COMPETENCY,
        "level": LEVEL,
        "framework": FRAMEWORK,
        "placement": PLACEMENT,
        "comment": "Accurate and on time.",
        "evidence_url": "https://evidence.example.edu/412",
        **overrides,
    }


def judgement(factory: StatementFactory | None = None, **overrides: Any) -> x.BuiltStatement:
    return (factory or StatementFactory(BASE)).judgement(**judgement_arguments(**overrides))


def test_a_judgement_follows_the_learner_competency_profile() -> None:
    built = judgement()
    statement = json.loads(built.payload)

    assert statement["id"] == built.id
    assert statement["actor"] == {
        "objectType": "Agent",
        "name": "Chloé Dubois",
        "account": {"homePage": "https://lms.example.edu", "name": "sub-learner"},
    }
    assert "mbox" not in built.payload and "chloe@example.edu" not in built.payload
    assert statement["verb"] == {"id": x.ACHIEVED, "display": {"en-US": "achieved"}}
    assert statement["object"] == {
        "objectType": "Activity",
        "id": f"{BASE}/frameworks/7#statement-412",
        "definition": {"type": x.COMPETENCY, "name": {"en-US": COMPETENCY.text}},
    }
    assert statement["result"] == {
        "success": True,
        "response": "Accurate and on time.",
        "extensions": {x.EVIDENCE: ["https://evidence.example.edu/412"]},
    }
    context = statement["context"]
    assert context["instructor"]["account"] == {
        "homePage": "https://lms.example.edu",
        "name": "sub-teacher",
    }
    [parent] = context["contextActivities"]["parent"]
    assert parent["id"] == f"{BASE}/frameworks/7#level-31"
    assert parent["definition"]["type"] == x.COMPETENCY
    grouping = {a["definition"]["type"]: a["id"] for a in context["contextActivities"]["grouping"]}
    assert grouping == {
        x.COMPETENCY_FRAMEWORK: f"{BASE}/frameworks/7",
        x.COURSE: f"{BASE}/courses/3",
        x.ASSESSMENT: f"{BASE}/activities/9",
    }
    assert context["extensions"] == {
        x.LTI_CONTEXT: {"id": "course-1", "title": "Legal Support 101"},
        x.LTI_RESOURCE_LINK: {"id": "link-1", "title": "Competencies"},
        x.LTI_DEPLOYMENT_ID: "dep-1",
    }
    assert statement["timestamp"] == "2026-11-22T20:56:53.635Z"
    assert "version" not in statement, "tincan's version field is removed"


def test_not_yet_is_success_false_and_clear_has_no_statement() -> None:
    statement = json.loads(judgement(verdict="not_yet", comment=None, evidence_url=None).payload)
    assert statement["result"] == {"success": False}
    with pytest.raises(ValueError, match="voiding"):
        judgement(verdict="clear")


def test_ids_are_uuid5_of_the_cause_and_the_bytes_never_change() -> None:
    first, again = judgement(), judgement()
    assert first == again
    assert first.payload.encode() == again.payload.encode()
    assert first.id[14] == "5", "a version 5 UUID"
    assert judgement(judgement_id=56).id != first.id
    assert judgement(judged_at=AT + dt.timedelta(milliseconds=1)).id != first.id
    assert judgement(factory=StatementFactory("https://other.example")).id != first.id
    compact = json.dumps(json.loads(first.payload), ensure_ascii=False, separators=(",", ":"))
    assert first.payload == compact


def test_e_mail_identifies_the_learner_only_when_turned_on() -> None:
    statement = json.loads(judgement(factory=StatementFactory(BASE, include_email=True)).payload)
    assert statement["actor"] == {
        "objectType": "Agent",
        "name": "Chloé Dubois",
        "mbox": "mailto:chloe@example.edu",
    }
    # the evaluator has no address: still identified by account
    assert "account" in statement["context"]["instructor"]


def test_timestamps_are_utc_with_milliseconds() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert x.format_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=paris)) == (
        "2026-01-02T02:04:05.006Z"
    )
    with pytest.raises(ValueError, match="naive"):
        x.format_timestamp(dt.datetime(2026, 1, 2))  # noqa: DTZ001


def test_level_achieved_and_voiding_statements() -> None:
    factory = StatementFactory(BASE)
    level = json.loads(
        factory.level_achieved(
            achievement_id=4,
            achieved_at=AT,
            learner=LEARNER,
            level=LEVEL,
            framework=FRAMEWORK,
            placement=PLACEMENT,
            evaluator=TEACHER,
        ).payload
    )
    assert level["verb"]["id"] == x.ACHIEVED
    assert level["object"]["id"] == f"{BASE}/frameworks/7#level-31"
    assert level["result"] == {"success": True, "completion": True}
    assert level["id"] == factory.level_statement_id(4, AT)

    void = json.loads(factory.voiding(target_id=level["id"], voided_at=AT, by=TEACHER).payload)
    assert void["verb"] == {"id": x.VOIDED, "display": {"en-US": "voided"}}
    assert void["object"] == {"objectType": "StatementRef", "id": level["id"]}
    assert void["actor"]["account"]["name"] == "sub-teacher"
    by_tool = json.loads(factory.voiding(target_id=level["id"], voided_at=AT).payload)
    assert by_tool["id"] == void["id"], "the id comes from what is voided"
    assert by_tool["actor"]["account"] == {"homePage": BASE, "name": "tool"}


def test_credential_issued_uses_the_open_badges_vocabulary() -> None:
    built = credential_issued_statement(
        base_url=BASE,
        learner=LEARNER,
        credential_id=f"{BASE}/credentials/6f1c",
        level=LEVEL,
        framework=FRAMEWORK,
        issued_at=AT,
        issuer_id="did:web:tool.example.edu",
        placement=PLACEMENT,
    )
    statement = json.loads(built.payload)
    assert statement["verb"]["id"] == x.EARNED
    assert statement["object"]["definition"]["type"] == x.BADGE
    assert statement["object"]["id"] == f"{BASE}/frameworks/7#achievement-31"
    assert statement["object"]["definition"]["extensions"][x.BADGE_CLASS] == {
        "@id": f"{BASE}/frameworks/7#achievement-31",
        "issuer": "did:web:tool.example.edu",
    }
    assert statement["result"]["extensions"] == {
        x.BADGE_ASSERTION: {"@id": f"{BASE}/credentials/6f1c"}
    }
    [recipe] = statement["context"]["contextActivities"]["category"]
    assert recipe["id"] == x.OPEN_BADGES_RECIPE
    assert statement["context"]["contextActivities"]["parent"][0]["id"].endswith("#level-31")
    assert "attachments" not in statement
    assert built.id == StatementFactory(BASE).credential_statement_id(f"{BASE}/credentials/6f1c")


def test_every_kind_of_statement_passes_the_xapi_validator() -> None:
    factory = StatementFactory(BASE, include_email=True)
    built = [
        judgement(factory),
        judgement(factory, verdict="not_yet", comment=None, evidence_url=None),
        factory.level_achieved(
            achievement_id=1,
            achieved_at=AT,
            learner=LEARNER,
            level=LEVEL,
            framework=FRAMEWORK,
            placement=PLACEMENT,
        ),
        factory.voiding(target_id=judgement().id, voided_at=AT),
        credential_issued_statement(
            base_url=BASE,
            learner=LEARNER,
            credential_id=f"{BASE}/credentials/1",
            level=LEVEL,
            framework=FRAMEWORK,
            issued_at=AT,
        ),
    ]
    assert validate_statements([b.payload for b in built]) == []


def test_nothing_under_xapi_imports_flask() -> None:
    code = (
        "import sys, xapi.statements, xapi.outbox, xapi.delivery, xapi.lrs, xapi.models;"
        "print('flask' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"verdict": "not_yet", "comment": None, "evidence_url": None},
        {"comment": 'Quote " and \\ and ünïcode — fine', "evidence_url": None},
    ],
)
def test_the_composed_judgement_is_byte_for_byte_what_tincan_serializes(
    overrides: dict[str, Any],
) -> None:
    """The judgement statement is composed from its parts' JSON for speed: it must equal the
    serialization of the whole tincan Statement."""
    factory = StatementFactory(BASE)
    arguments = judgement_arguments(**overrides)
    built = factory.judgement(**arguments)
    assert built.payload == tincan_judgement(factory, built, arguments)
