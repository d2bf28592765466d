"""A learner's CLR: the LMS side of `lms_plugin.credentials.clr` (which never reads LMS models).

It picks the learner's credentials in force (not revoked, not expired) of one activity, lowest
level first, names the learner as their level credentials do, and has the activity's issuer
profile (as it is now) sign the bundle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.assessment.awards import award_for
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.assessment.services import Placement
from lms_plugin.credentials import clr, issuance, sharing
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.frameworks.models import Level
from lms_plugin.orm import utcnow


def learner_clr(
    session: Session,
    settings: IssuerSettings,
    placement: Placement,
    learner_id: int,
    now: dt.datetime | None = None,
) -> dict[str, Any] | None:
    """The signed ClrCredential of the learner's credentials in force in this activity, or None
    when they hold none. Flushes (the issuer profile and its key may be created now)."""
    now = now or utcnow()
    rows = session.execute(
        select(Credential, LevelAchievement)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .join(Level, Level.id == Credential.level_id)
        .where(
            Credential.learner_id == learner_id,
            LevelAchievement.resource_link_id == placement.link.id,
            Credential.revoked_at.is_(None),
        )
        .order_by(Level.version_id, Level.position, Credential.issued_at, Credential.id)
    ).all()
    held = [
        (credential, achievement)
        for credential, achievement in rows
        if sharing.offerable(credential.revoked_at, credential.valid_until, now)
    ]
    if not held:
        return None
    recipient = award_for(session, settings, held[0][1]).recipient
    issuer = issuance.issuer_for(session, settings, placement.link.id)
    return clr.issue_clr(
        issuer,
        recipient,
        placement.version.title,
        [credential.document for credential, _ in held],
        now,
    )
