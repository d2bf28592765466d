"""The xAPI side of judging: an assessment listener that writes statements into the outbox in
the transaction that records the judgements (no judgement without its statements, no statement
without its judgement). Delivery happens later, after commit (`xapi.delivery`).

What is written:
- each "met" / "not yet" judgement: its statement;
- each judgement that supersedes an earlier judgement of the same cell (learner x statement),
  "clear" included: a voiding statement for the earlier one's statement (a "clear" writes only
  that);
- each level achieved: its statement; each achievement withdrawn: a voiding statement for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.credentials.issuance import Issued, IssuerSettings
from lms_plugin.frameworks.models import Level
from lms_plugin.lti.models import Course, Deployment, Person
from lms_plugin.orm import utcnow
from xapi.outbox import Route, enqueue, row
from xapi.statements import (
    AgentRef,
    BuiltStatement,
    CompetencyRef,
    FrameworkRef,
    LevelRef,
    PlacementRef,
    StatementFactory,
)

if TYPE_CHECKING:
    from lms_plugin.assessment.services import LevelEvent, Placement, RecordedJudgement


class _Scope:
    """What every statement of one placement shares, read once per call."""

    def __init__(self, session: Session, placement: Placement) -> None:
        link = placement.link
        course = session.get(Course, link.course_id)
        assert course is not None
        deployment = session.get(Deployment, course.deployment_id) if course.deployment_id else None
        self.route = Route(course.platform_id, course.deployment_id)
        version = placement.version
        self.framework = FrameworkRef(version.id, version.title, version.version_label)
        self.placement = PlacementRef(
            course_id=course.id,
            context_id=course.context_id,
            course_title=course.title,
            link_id=link.id,
            resource_link_id=link.resource_link_id,
            link_title=link.title,
            deployment_id=deployment.deployment_id if deployment else None,
        )
        self.levels = {level.id: _level_ref(level) for level in placement.levels}
        # each statement as a judgement's object names it, with its level
        self.competencies = {
            s.id: (CompetencyRef(s.id, s.text), self.levels[s.level_id])
            for s in placement.statements.values()
        }


class XapiRecorder:
    """Assessment listener writing the outbox rows; `base_url` names the public IRIs."""

    def __init__(self, base_url: str, include_email: bool = False) -> None:
        self.factory = StatementFactory(base_url, include_email=include_email)

    def judged(
        self,
        session: Session,
        placement: Placement,
        judgements: Sequence[RecordedJudgement],
    ) -> None:
        if not judgements:
            return
        scope = _scope(session, placement)
        people = _people(
            session, {j.learner_id for j in judgements} | {j.judged_by_id for j in judgements}
        )
        built: list[BuiltStatement] = []
        for judgement in sorted(judgements, key=lambda j: j.id):
            evaluator = people[judgement.judged_by_id]
            earlier = judgement.supersedes
            if earlier is not None and earlier.verdict != "clear":
                target = self.factory.judgement_statement_id(earlier.id, earlier.judged_at)
                built.append(
                    self.factory.voiding(
                        target_id=target, voided_at=judgement.judged_at, by=evaluator
                    )
                )
            if judgement.verdict != "clear":
                competency, level = scope.competencies[judgement.statement_id]
                built.append(
                    self.factory.judgement(
                        judgement_id=judgement.id,
                        judged_at=judgement.judged_at,
                        verdict=judgement.verdict,
                        learner=people[judgement.learner_id],
                        evaluator=evaluator,
                        competency=competency,
                        level=level,
                        framework=scope.framework,
                        placement=scope.placement,
                        comment=judgement.comment,
                        evidence_url=judgement.evidence_url,
                    )
                )
        enqueue(session, built, scope.route, utcnow())

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        self.levels_changed(session, placement, [event])

    def levels_changed(
        self, session: Session, placement: Placement, events: Sequence[LevelEvent]
    ) -> None:
        """A level achieved: its statement; withdrawn: a voiding statement for that one. All in
        one INSERT (COPY on PostgreSQL)."""
        if not events:
            return
        scope = _scope(session, placement)
        wanted = {e.learner_id for e in events}
        wanted |= {e.judgement.judged_by_id for e in events if e.judgement is not None}
        people = _people(session, wanted)
        built: list[BuiltStatement] = []
        for event in events:
            achievement = event.achievement
            cause = event.judgement
            evaluator = people[cause.judged_by_id] if cause is not None else None
            if event.kind == "achieved":
                built.append(
                    self.factory.level_achieved(
                        achievement_id=achievement.id,
                        achieved_at=achievement.achieved_at,
                        learner=people[event.learner_id],
                        level=_level_ref(event.level),
                        framework=scope.framework,
                        placement=scope.placement,
                        evaluator=evaluator,
                    )
                )
            else:
                target = self.factory.level_statement_id(achievement.id, achievement.achieved_at)
                built.append(
                    self.factory.voiding(target_id=target, voided_at=event.at, by=evaluator)
                )
        enqueue(session, built, scope.route, utcnow())

    def credential_issued(
        self,
        session: Session,
        placement: Placement,
        learner_id: int,
        level: Level,
        credential_id: str,
        issued_at: dt.datetime,
        **details: Any,
    ) -> BuiltStatement:
        """Queue the "credential issued" statement for a learner's credential (for the
        credentials service; `details` as in `StatementFactory.credential_issued`)."""
        scope = _scope(session, placement)
        built = self.factory.credential_issued(
            learner=_people(session, {learner_id})[learner_id],
            credential_id=credential_id,
            level=_level_ref(level),
            framework=scope.framework,
            issued_at=issued_at,
            placement=scope.placement,
            **details,
        )
        session.add(row(built, scope.route, utcnow()))  # flushed with the rest, not on its own
        return built


def credential_hook(
    recorder: XapiRecorder, settings: IssuerSettings
) -> Callable[[Session, Placement, Issued], None]:
    """Queue the xAPI "earned" statement (Open Badges vocabulary) for each new credential."""

    def record(session: Session, placement: Placement, issued: Issued) -> None:
        credential = issued.credential
        level = session.get(Level, credential.level_id)
        assert level is not None
        recorder.credential_issued(
            session,
            placement,
            credential.learner_id,
            level,
            credential_id=settings.credential_url(credential.id),
            issued_at=credential.issued_at,
            achievement_id=issued.achievement_iri,
            achievement_name=issued.achievement_name,
            issuer_id=issued.issuer_did,
        )

    return record


def _transaction_cache(session: Session, name: str) -> dict[Any, Any]:
    """A dict kept in `session.info` for the current transaction only."""
    transaction = session.get_transaction()
    key = f"xapi_{name}"
    entry = session.info.get(key)
    if entry is None or entry[0] is not transaction:
        entry = session.info[key] = (transaction, {})
    cache: dict[Any, Any] = entry[1]
    return cache


def _scope(session: Session, placement: Placement) -> _Scope:
    """The placement's shared parts, read once per transaction, without flushing (a flush per
    level event would write the other listeners' rows one at a time)."""
    cache = _transaction_cache(session, "scopes")
    scope = cache.get(placement.link.id)
    if scope is None:
        with session.no_autoflush:
            scope = cache[placement.link.id] = _Scope(session, placement)
    return scope


def _level_ref(level: Level) -> LevelRef:
    return LevelRef(level.id, level.key, level.label)


def _people(session: Session, ids: set[int]) -> dict[int, AgentRef]:
    """The people as statement agents, cached for the transaction (the level events of a batch
    name the learners and evaluators its judgements did). Reading does not flush."""
    cache: dict[int, AgentRef] = _transaction_cache(session, "people")
    missing = ids - cache.keys()
    if missing:
        columns = (Person.id, Person.issuer, Person.sub, Person.name, Person.email)
        with session.no_autoflush:
            rows = session.execute(select(*columns).where(Person.id.in_(missing)))
            cache.update((r.id, AgentRef(r.issuer, r.sub, r.name, r.email)) for r in rows)
    return {person_id: cache[person_id] for person_id in ids}
