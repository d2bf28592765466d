"""Credentials follow levels: an achieved level queues a credential request in the judgement's
transaction, which the worker signs after commit (`issue_pending`: signing 120 credentials would
otherwise sit inside an evaluator's bulk request) under the issuer profile of the course's
platform or deployment, as it is then; a withdrawn level revokes what was issued and cancels what
was not (a re-achieved level gets a new credential).

This is the LMS side of issuing: it reads the achievement, the level, the framework and the
learner, and hands `lms_plugin.credentials.issuance` an `Award` (the credentials package never
reads LMS models)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from lms_plugin.assessment import services as assessment
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.assessment.services import LevelEvent, Placement, RecordedJudgement
from lms_plugin.credentials import builder, issuance
from lms_plugin.credentials.issuance import Award, Issued, IssuerIdentity, IssuerSettings
from lms_plugin.credentials.models import (
    DONE_REQUEST_STATES,
    Credential,
    CredentialRequest,
)
from lms_plugin.frameworks import case
from lms_plugin.frameworks.attribution import attribution_text
from lms_plugin.frameworks.models import FrameworkVersion, Level
from lms_plugin.lti.models import Person, ResourceLink
from lms_plugin.orm import delete_by_id, is_state, utcnow
from xapi.delivery import DeliveryReport

IssuedHook = Callable[[Session, Placement, Issued], None]
MAX_ATTEMPTS = 5
NAME_CHOICE_REISSUED = (
    "Re-issued: the learner changed whether their name is shown, and a new credential replaces"
    " this one."
)


def award_for(
    session: Session,
    settings: IssuerSettings,
    achievement: LevelAchievement,
    learner_did: str | None = None,
) -> Award:
    """What the credential for `achievement` says: the level with its statements, the framework,
    the occupation, the recipient (`learner_did` if given, else the e-mail, else the LTI user;
    with their name if they chose to show it) and the evidence of each statement met."""
    level = session.get(Level, achievement.level_id)
    learner = session.get(Person, achievement.learner_id)
    assert level is not None and learner is not None
    version = session.get(FrameworkVersion, level.version_id)
    assert version is not None
    framework_url = f"{settings.base_url}/frameworks/{version.id}"
    if learner_did:
        recipient = builder.Recipient.from_did(learner_did)
    elif learner.email:
        recipient = builder.Recipient.from_email(learner.email)
    else:
        recipient = builder.Recipient.from_lti_user(learner.issuer, learner.sub)
    if learner.show_name_in_credentials:
        name = learner.name or f"{learner.given_name} {learner.family_name}".strip()
        recipient = replace(recipient, name=name or None)
    return Award(
        achievement_id=achievement.id,
        learner_id=learner.id,
        level_id=level.id,
        resource_link_id=achievement.resource_link_id,
        recipient=recipient,
        level=builder.Level(
            key=level.key,
            label=level.label,
            url=f"{framework_url}#level-{level.id}",
            statements=[
                builder.Statement(text=s.text, url=case.item_uri(settings.base_url, s.case_id))
                for s in level.statements
            ],
        ),
        framework=builder.Framework(
            title=version.title,
            version=version.version_label,
            url=framework_url,
            attribution=attribution_text(version),
        ),
        occupation=builder.Occupation(
            soc=version.framework.soc,
            title=version.title,
            url=builder.onet_occupation_url(version.framework.soc),
        ),
        evidence=_evidence(session, achievement, level),
    )


def _evidence(
    session: Session, achievement: LevelAchievement, level: Level
) -> list[builder.Evidence]:
    """Each statement of the level met, as its current judgement says: when, the evidence link,
    and the comment if the evaluator ticked "show in the credential"."""
    cells = assessment.current_verdicts(
        session, achievement.resource_link_id, [achievement.learner_id]
    )
    evidence = []
    for statement in level.statements:
        cell = cells.get((achievement.learner_id, statement.id))
        if cell is None or cell.verdict != "met":
            continue
        evidence.append(
            builder.Evidence(
                statement=statement.text,
                judged_at=cell.judged_at,
                url=cell.evidence_url,
                comment=cell.comment if cell.show_in_credential else None,
            )
        )
    return evidence


def issue_for_achievement(
    session: Session,
    settings: IssuerSettings,
    achievement: LevelAchievement,
    issuer: IssuerIdentity | None = None,
    *,
    learner_did: str | None = None,
) -> Issued:
    """Sign and store a (new) credential for a level a learner holds. Flushes."""
    award = award_for(session, settings, achievement, learner_did)
    return issuance.issue(session, settings, award, issuer)


def reissue_for_learner(session: Session, settings: IssuerSettings, learner: Person) -> int:
    """After the learner changed whether their name is shown: each of their credentials still in
    force (not revoked, not expired, level still held) is replaced by a new one saying what they
    chose; the old one is revoked. Copies bound to a wallet's DID are left alone (the wallet holds
    them: the learner adds the new one to it). Returns how many. Flushes."""
    now = utcnow()
    query = (
        select(Credential, LevelAchievement)
        .join(LevelAchievement, LevelAchievement.id == Credential.achievement_id)
        .where(
            Credential.learner_id == learner.id,
            Credential.revoked_at.is_(None),
            LevelAchievement.withdrawn_at.is_(None),
        )
        .order_by(Credential.issued_at)
    )
    count = 0
    for credential, achievement in session.execute(query).all():
        if credential.valid_until is not None and credential.valid_until <= now:
            continue
        if builder.recipient_did(json.loads(credential.document)) is not None:
            continue
        award = award_for(session, settings, achievement)
        issuance.reissue(session, settings, credential, award, NAME_CHOICE_REISSUED, now=now)
        count += 1
    return count


class CredentialAwards:
    """The assessment listener, and `issue_pending` for the worker; `on_issued` hears of each new
    credential (the xAPI recorder uses it), in the transaction that stores it."""

    def __init__(self, settings: IssuerSettings, on_issued: Sequence[IssuedHook] = ()) -> None:
        self.settings = settings
        self.on_issued = list(on_issued)

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[RecordedJudgement]
    ) -> None:
        """Credentials follow levels, not single judgements."""

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        self.levels_changed(session, placement, [event])

    def levels_changed(
        self, session: Session, placement: Placement, events: Sequence[LevelEvent]
    ) -> None:
        """A level achieved queues a credential request; a level withdrawn cancels its queued
        requests and revokes its credentials. A few statements for the whole batch, whatever its
        number of events."""
        achieved = [{"achievement_id": e.achievement.id} for e in events if e.kind == "achieved"]
        if achieved:
            session.execute(CredentialRequest.__table__.insert(), achieved)
        withdrawn = {e.achievement.id: e for e in events if e.kind == "withdrawn"}
        if not withdrawn:
            return
        by_time: dict[dt.datetime, list[int]] = defaultdict(list)
        for achievement_id, event in withdrawn.items():
            by_time[event.at].append(achievement_id)
        for at, achievement_ids in by_time.items():
            session.execute(
                update(CredentialRequest)
                .where(
                    CredentialRequest.achievement_id.in_(achievement_ids),
                    is_state(CredentialRequest.state, "queued"),
                )
                .values(state="cancelled", done_at=at)
            )
        _revoke_withdrawn(session, withdrawn)

    def issue_pending(self, session: Session, limit: int = 200) -> DeliveryReport:
        """Sign the queued requests (several workers may run: rows are claimed with SKIP LOCKED):
        `delivered` counts the credentials issued, `skipped` the requests cancelled (their level
        was withdrawn), `retrying` and `dead` the ones refused. Flushes; the caller commits."""
        report = DeliveryReport()
        requests = session.scalars(
            select(CredentialRequest)
            .where(is_state(CredentialRequest.state, "queued"))
            .order_by(CredentialRequest.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        placements: dict[int, Placement | None] = {}
        for request in requests:
            achievement = session.get(LevelAchievement, request.achievement_id)
            if achievement is None or achievement.withdrawn_at is not None:
                request.state, request.done_at = "cancelled", utcnow()
                report.skipped += 1
                continue
            if achievement.resource_link_id not in placements:
                link = session.get(ResourceLink, achievement.resource_link_id)
                placements[achievement.resource_link_id] = (
                    assessment.load_placement(session, link) if link else None
                )
            placement = placements[achievement.resource_link_id]
            try:
                issued = issue_for_achievement(session, self.settings, achievement)
            except ValueError as error:  # refused by the builder or the signer (nothing stored)
                request.attempts += 1
                request.last_error = str(error)[:2000]
                if request.attempts >= MAX_ATTEMPTS:
                    request.state, request.done_at = "failed", utcnow()
                    report.dead += 1
                else:
                    report.retrying += 1
                continue
            if placement is not None:
                for hook in self.on_issued:
                    hook(session, placement, issued)
            request.state, request.done_at = "issued", utcnow()
            request.credential_id = issued.credential.id
            report.delivered += 1
        session.flush()
        return report


def _revoke_withdrawn(session: Session, withdrawn: Mapping[int, LevelEvent]) -> None:
    """Revoke the credentials in force of the withdrawn achievements (achievement id -> its
    event) with one read and one lock per status list (`issuance.revoke_many`). Flushed by the
    caller. The signed documents are not read (a withdrawing bulk save revokes 120)."""
    credentials = session.scalars(
        select(Credential)
        .where(Credential.achievement_id.in_(list(withdrawn)), Credential.revoked_at.is_(None))
        .options(defer(Credential.document))
    ).all()
    revocations = []
    for credential in credentials:
        event = withdrawn[credential.achievement_id]
        reason = f"The {event.level.label} level was withdrawn: an evaluator reversed a judgement."
        revocations.append((credential, reason, event.at))
    issuance.revoke_many(session, revocations)


def purge_requests(session: Session, before: dt.datetime, limit: int) -> int:
    """Delete up to `limit` credential requests done (issued or cancelled) before `before`; the
    credentials stay. Returns how many; flushes, the caller commits."""
    ids = list(
        session.scalars(
            select(CredentialRequest.id)
            .where(
                is_state(CredentialRequest.state, *DONE_REQUEST_STATES),
                CredentialRequest.done_at < before,
            )
            .order_by(CredentialRequest.state, CredentialRequest.done_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return delete_by_id(session, CredentialRequest, ids)
