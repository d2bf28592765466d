"""Credentials follow levels: an achieved level queues a credential request in the judgement's
transaction, which the worker signs after commit (`issue_pending`: signing 120 credentials would
otherwise sit inside an evaluator's bulk request) under the issuer profile of the course's
platform or deployment, as it is then; a withdrawn level revokes what was issued and cancels what
was not (a re-achieved level gets a new credential)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.assessment import services as assessment
from lms_plugin.assessment.models import Judgement, LevelAchievement
from lms_plugin.assessment.services import LevelEvent, Placement
from lms_plugin.credentials import issuance
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential, CredentialRequest
from lms_plugin.frameworks.models import Level
from lms_plugin.learning_records.recorder import XapiRecorder
from lms_plugin.lti.models import ResourceLink
from lms_plugin.orm import utcnow

IssuedHook = Callable[[Session, Placement, Credential], None]
MAX_ATTEMPTS = 5


@dataclass
class IssueReport:
    issued: int = 0
    cancelled: int = 0
    failed: int = 0


class CredentialIssuer:
    """The assessment listener, and `issue_pending` for the worker; `on_issued` hears of each new
    credential (the xAPI recorder uses it), in the transaction that stores it."""

    def __init__(self, settings: IssuerSettings, on_issued: Sequence[IssuedHook] = ()) -> None:
        self.settings = settings
        self.on_issued = list(on_issued)

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[Judgement]
    ) -> None:
        """Credentials follow levels, not single judgements."""

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        if event.kind == "achieved":
            session.add(CredentialRequest(achievement_id=event.achievement.id))
            return
        for request in session.scalars(
            select(CredentialRequest).where(
                CredentialRequest.achievement_id == event.achievement.id,
                CredentialRequest.state == "queued",
            )
        ):
            request.state, request.done_at = "cancelled", event.at
        for credential in issuance.credentials_of_achievement(session, event.achievement.id):
            issuance.revoke(
                session,
                credential,
                f"The {event.level.label} level was withdrawn: an evaluator reversed a judgement.",
                now=event.at,
            )

    def issue_pending(self, session: Session, limit: int = 200) -> IssueReport:
        """Sign the queued requests (several workers may run: rows are claimed with SKIP LOCKED).
        Flushes; the caller commits."""
        report = IssueReport()
        requests = session.scalars(
            select(CredentialRequest)
            .where(CredentialRequest.state == "queued")
            .order_by(CredentialRequest.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        placements: dict[int, Placement | None] = {}
        for request in requests:
            achievement = session.get(LevelAchievement, request.achievement_id)
            if achievement is None or achievement.withdrawn_at is not None:
                request.state, request.done_at = "cancelled", utcnow()
                report.cancelled += 1
                continue
            if achievement.resource_link_id not in placements:
                link = session.get(ResourceLink, achievement.resource_link_id)
                placements[achievement.resource_link_id] = (
                    assessment.load_placement(session, link) if link else None
                )
            placement = placements[achievement.resource_link_id]
            try:
                issuer = issuance.issuer_for(session, self.settings, achievement)
                credential = issuance.issue(session, self.settings, achievement, issuer)
            except ValueError as error:  # refused by the builder or the signer (nothing stored)
                request.attempts += 1
                request.last_error = str(error)[:2000]
                if request.attempts >= MAX_ATTEMPTS:
                    request.state, request.done_at = "failed", utcnow()
                report.failed += 1
                continue
            if placement is not None:
                for hook in self.on_issued:
                    hook(session, placement, credential)
            request.state, request.done_at = "issued", utcnow()
            request.credential_id = credential.id
            report.issued += 1
        session.flush()
        return report


def xapi_hook(recorder: XapiRecorder, settings: IssuerSettings) -> IssuedHook:
    """Queue the xAPI "earned" statement (Open Badges vocabulary) for each new credential."""

    def record(session: Session, placement: Placement, credential: Credential) -> None:
        level = session.get(Level, credential.level_id)
        assert level is not None
        document = json.loads(credential.document)
        recorder.credential_issued(
            session,
            placement,
            credential.learner_id,
            level,
            credential_id=settings.credential_url(credential.id),
            issued_at=credential.issued_at,
            achievement_id=document["credentialSubject"]["achievement"]["id"],
            achievement_name=document["name"],
            issuer_id=document["issuer"]["id"],
        )

    return record
