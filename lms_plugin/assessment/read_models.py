"""Read models of assessment for pages and the API: the credentials of a learner or of an
activity, joined with their levels and learners."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential, CredentialRequest
from lms_plugin.frameworks.models import Level
from lms_plugin.lti.models import Person


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
