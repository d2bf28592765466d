"""Read models of assessment for pages, the JSON API and the CSV exports: the grid, a learner's
progress, judgements, and the credentials of a learner or of an activity (joined with their levels
and learners)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from lms_plugin.assessment import services
from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.assessment.services import Placement
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential, CredentialRequest
from lms_plugin.frameworks.models import Level
from lms_plugin.lti.models import Person
from lms_plugin.orm import utc_iso


def learner_credentials(
    session: Session, settings: IssuerSettings, learner_id: int, link_id: int
) -> list[dict[str, Any]]:
    """A learner's credentials for one activity, newest first (for their page and the API);
    those still being signed come first, with status "pending" and no URL yet."""
    pending = session.scalars(
        select(Level)
        .join(LevelAchievement, LevelAchievement.level_id == Level.id)
        .join(CredentialRequest, CredentialRequest.achievement_id == LevelAchievement.id)
        .where(
            LevelAchievement.learner_id == learner_id,
            LevelAchievement.resource_link_id == link_id,
            CredentialRequest.state == "queued",
        )
    )
    waiting = [
        {
            "id": None,
            "level": level.key,
            "level_label": level.label,
            "url": None,
            "status": "pending",
        }
        for level in pending
    ]
    query = (
        select(Credential, Level)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .where(Credential.learner_id == learner_id, LevelAchievement.resource_link_id == link_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    return waiting + [
        {
            "id": credential.id,
            "level": level.key,
            "level_label": level.label,
            "url": settings.credential_url(credential.id),
            "status": "revoked" if credential.revoked_at else "active",
        }
        for credential, level in session.execute(query)
    ]


def link_credentials(
    session: Session, settings: IssuerSettings, link_id: int
) -> list[dict[str, Any]]:
    """Every credential issued in one activity, newest first, for staff."""
    query = (
        select(Credential, Level, Person)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .join(Person, Person.id == Credential.learner_id)
        .where(LevelAchievement.resource_link_id == link_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    return [
        {
            "id": credential.id,
            "learner": person.name or person.sub,
            "level_label": level.label,
            "url": settings.credential_url(credential.id),
            "issued_at": credential.issued_at,
            "revoked": credential.revoked_at is not None,
            "reason": credential.revocation_reason,
        }
        for credential, level, person in session.execute(query)
    ]


def names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Display names of people by id (name, else LTI sub)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Person.id, Person.name, Person.sub).where(Person.id.in_(wanted)))
    return {row.id: row.name or row.sub for row in rows}


def judgement_json(judgement: Judgement, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": judgement.id,
        "learner_id": judgement.learner_id,
        "statement_id": judgement.statement_id,
        "verdict": judgement.verdict,
        "comment": judgement.comment,
        "evidence_url": judgement.evidence_url,
        "judged_by": names.get(judgement.judged_by_id, ""),
        "judged_by_id": judgement.judged_by_id,
        "judged_at": utc_iso(judgement.judged_at),
    }


def grid_json(session: Session, placement: Placement) -> dict[str, Any]:
    """The whole grid in a constant number of queries, whatever the number of learners."""
    people = services.learners(session, placement.link.course_id)
    verdicts = services.current_verdicts(session, placement.link.id)
    level_keys = {level.id: level.key for level in placement.levels}
    achieved: dict[int, list[str]] = {}
    for achievement in services.active_achievements(session, placement.link.id):
        if achievement.level_id in level_keys:
            achieved.setdefault(achievement.learner_id, []).append(level_keys[achievement.level_id])
    judges = names(session, (j.judged_by_id for j in verdicts.values()))
    learner_ids = {p.id for p in people}
    return {
        "framework": {
            "id": placement.version.id,
            "title": placement.version.title,
            "version": placement.version.version_label,
        },
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "statements": [{"id": s.id, "text": s.text} for s in level.statements],
            }
            for level in placement.levels
        ],
        "learners": [
            {"id": p.id, "name": p.name or p.sub, "achieved": achieved.get(p.id, [])}
            for p in people
        ],
        "cells": [
            {
                "learner_id": j.learner_id,
                "statement_id": j.statement_id,
                "verdict": j.verdict,
                "comment": j.comment,
                "evidence_url": j.evidence_url,
                "judged_at": utc_iso(j.judged_at),
                "judged_by": judges.get(j.judged_by_id, ""),
            }
            for j in verdicts.values()
            if j.verdict != "clear"
            and j.learner_id in learner_ids
            and j.statement_id in placement.statements
        ],
    }


def progress_json(
    session: Session, placement: Placement, learner: Person, credentials: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    verdicts = services.current_verdicts(session, placement.link.id, [learner.id])
    achieved = {
        a.level_id for a in services.active_achievements(session, placement.link.id, [learner.id])
    }
    return {
        "learner": {"id": learner.id, "name": learner.name or learner.sub},
        "levels": [
            {
                "key": level.key,
                "label": level.label,
                "achieved": level.id in achieved,
                "statements": [
                    _progress_statement(s.id, s.text, verdicts.get((learner.id, s.id)))
                    for s in level.statements
                ],
            }
            for level in placement.levels
        ],
        "credentials": list(credentials),
    }


def _progress_statement(statement_id: int, text: str, judgement: Row[Any] | None) -> dict[str, Any]:
    """A statement as its learner sees it: the current verdict with its comment, evidence link
    and time ("pending" and nulls when never judged or cleared)."""
    if judgement is None or judgement.verdict == "clear":
        judged: dict[str, Any] = {
            "verdict": "pending",
            "comment": None,
            "evidence_url": None,
            "judged_at": None,
        }
    else:
        judged = {
            "verdict": judgement.verdict,
            "comment": judgement.comment,
            "evidence_url": judgement.evidence_url,
            "judged_at": utc_iso(judgement.judged_at),
        }
    return {"id": statement_id, "text": text, **judged}
