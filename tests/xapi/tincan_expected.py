"""What tincan serializes for a whole statement, built from fresh tincan objects: the bytes the
factory's composed statements must equal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tincan import Activity, Extensions, Result, Statement

from xapi import statements as x
from xapi.statements import BuiltStatement, LevelRef, StatementFactory


def tincan_bytes(**members: Any) -> str:
    """What tincan writes for the whole statement (`at`: its timestamp)."""
    at = members.pop("at")
    return x.serialize(Statement(**members), at)


def tincan_judgement(
    factory: StatementFactory, built: BuiltStatement, arguments: Mapping[str, Any]
) -> str:
    """What tincan writes for `built`, made by `factory.judgement(**arguments)`."""
    framework, competency = arguments["framework"], arguments["competency"]
    evidence_url = arguments.get("evidence_url")
    judged = x._activity(
        factory.competency_iri(framework, competency), x.COMPETENCY, competency.text
    )
    result = Result(
        success=arguments["verdict"] == "met",
        response=arguments.get("comment") or None,
        extensions=Extensions({x.EVIDENCE: [evidence_url]}) if evidence_url else None,
    )
    at = arguments["judged_at"]
    return _achieved(factory, built, at, arguments, judged, result, arguments["level"])


def tincan_level_achieved(
    factory: StatementFactory, built: BuiltStatement, arguments: Mapping[str, Any]
) -> str:
    """What tincan writes for `built`, made by `factory.level_achieved(**arguments)`."""
    framework, level = arguments["framework"], arguments["level"]
    achieved = x._activity(
        factory.level_iri(framework, level),
        x.COMPETENCY,
        level.label,
        f"{framework.title}: level {level.label}",
    )
    result = Result(success=True, completion=True)
    at = arguments["achieved_at"]
    return _achieved(factory, built, at, arguments, achieved, result, None)


def _achieved(
    factory: StatementFactory,
    built: BuiltStatement,
    at: dt.datetime,
    arguments: Mapping[str, Any],
    activity: Activity,
    result: Result,
    context_level: LevelRef | None,
) -> str:
    """An "achieved" statement of the learner in `arguments`, its context's parent
    `context_level`."""
    return tincan_bytes(
        at=at,
        id=built.id,
        actor=factory._agent(arguments["learner"]),
        verb=factory._achieved,
        object=activity,
        result=result,
        context=factory._build_context(
            arguments["framework"],
            arguments["placement"],
            context_level,
            arguments.get("evaluator"),
        ),
    )
