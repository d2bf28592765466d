"""The statements of a bulk save (judged, level achieved, level withdrawn) are composed from their
parts' JSON without building tincan objects: byte for byte what tincan serializes for the whole
statement, for awkward text too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tincan import StatementRef

from tests.xapi.tincan_expected import tincan_bytes, tincan_judgement, tincan_level_achieved
from xapi.statements import (
    AgentRef,
    CompetencyRef,
    FrameworkRef,
    LevelRef,
    PlacementRef,
    StatementFactory,
)

BASE = "https://tool.example.edu"
AT = dt.datetime(2026, 11, 22, 20, 56, 53, 635024, tzinfo=dt.UTC)
AWKWARD = 'Quote " back\\slash\nnew line\ttab ünïcode — 𝄞 emoji 🎓 </script> \u2028'
LEARNER = AgentRef("https://lms.example.edu", "sub-learner", 'Chloé "Dubois"', "c@example.edu")
TEACHER = AgentRef("https://lms.example.edu", "sub-teacher", "Ada Teacher")
FRAMEWORK = FrameworkRef(7, "Legal Secretaries — Assistants", "2025.1")
LEVEL = LevelRef(31, "emerging", "Émerging")
COMPETENCY = CompetencyRef(412, AWKWARD)
PLACEMENT = PlacementRef(3, "course-1", 'Legal "Support" 101', 9, "link-1", "Compétences", None)
# What a judgement and a level statement both name.
LEARNER_AT_LEVEL: dict[str, Any] = {
    "learner": LEARNER,
    "level": LEVEL,
    "framework": FRAMEWORK,
    "placement": PLACEMENT,
}


@pytest.mark.parametrize("include_email", [False, True])
@pytest.mark.parametrize(
    ("verdict", "comment", "evidence_url"),
    [
        ("met", "Accurate and on time.", 'https://evidence.example.edu/412?a=1&b="2"'),
        ("not_yet", None, None),
        ("met", "", None),
        ("not_yet", AWKWARD, None),
        ("met", None, "https://evidence.example.edu/ü"),
    ],
)
def test_judged(
    include_email: bool, verdict: str, comment: str | None, evidence_url: str | None
) -> None:
    factory = StatementFactory(BASE, include_email=include_email)
    arguments: dict[str, Any] = {
        **LEARNER_AT_LEVEL,
        "judgement_id": 55,
        "judged_at": AT,
        "verdict": verdict,
        "evaluator": TEACHER,
        "competency": COMPETENCY,
        "comment": comment,
        "evidence_url": evidence_url,
    }
    built = factory.judgement(**arguments)
    assert built.payload == tincan_judgement(factory, built, arguments)


@pytest.mark.parametrize("evaluator", [TEACHER, None])
def test_level_achieved(evaluator: AgentRef | None) -> None:
    factory = StatementFactory(BASE)
    arguments = {**LEARNER_AT_LEVEL, "achievement_id": 8, "achieved_at": AT, "evaluator": evaluator}
    built = factory.level_achieved(**arguments)
    assert built.payload == tincan_level_achieved(factory, built, arguments)


@pytest.mark.parametrize("by", [TEACHER, None])
def test_level_withdrawn_and_judgement_superseded(by: AgentRef | None) -> None:
    """Both are voiding statements (of the level's statement, of the earlier judgement's)."""
    factory = StatementFactory(BASE)
    target = factory.level_statement_id(8, AT)
    built = factory.voiding(target_id=target, voided_at=AT, by=by)
    expected = tincan_bytes(
        at=AT,
        id=built.id,
        actor=factory._agent(by) if by is not None else factory._tool,
        verb=factory._voided,
        object=StatementRef(id=target),
    )
    assert built.payload == expected
