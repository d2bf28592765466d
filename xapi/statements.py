"""xAPI 1.0.3 statements about judgements, levels and credentials, built with `tincan`.

Every statement gets a deterministic id (a UUIDv5 of what caused it, in a namespace of the tool's
base URL) and a timestamp we set (UTC, milliseconds, `Z`), and is serialized exactly once: the
JSON text returned here is what the outbox stores and what every delivery attempt sends, so a
retry is always an identical duplicate (which an LRS accepts) and never a conflict (409).

Vocabulary (ADL Learner Competency / TLA profile, Open Badges xAPI vocabulary):

- a judgement: the learner `achieved` (https://w3id.org/xapi/tla/verbs/achieved) the framework
  statement, an Activity of type competency whose id is the statement's public IRI
  `{BASE_URL}/frameworks/<version id>#statement-<statement id>`; `result.success` is true for
  "met" and false for "not yet", `result.response` the comment, the evidence URL in the result
  extension https://w3id.org/xapi/tla/extensions/evidence (an array, as the profile defines it);
  the evaluator is `context.instructor`; the level is in `contextActivities.parent`; the framework
  (type competency-framework), the course and the activity (the LTI resource link, type
  assessment) are in `grouping`; the LTI ids themselves are context extensions named by their
  LTI claim IRIs;
- a level achieved: the learner `achieved` the level (an Activity of type competency);
- a credential issued: the learner `earned` (Open Badges xAPI vocabulary) the badge, with the
  credential in the `badgeassertion` result extension and the recipe in `category`;
- voiding (http://adlnet.gov/expapi/verbs/voided): a judgement superseded by a newer judgement of
  the same cell (a "clear" emits only this), a level achievement withdrawn.

Known tincan faults worked around here: it writes `"version": "1.0.3"` into every statement (a
client should leave `version` to the LRS), so it is removed; it serializes timestamps with
`isoformat()` (microseconds, `+00:00`), so ours are written by hand; and parsing then
re-serializing a statement changes its bytes, so nothing here ever parses a statement back.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    LanguageMap,
    Result,
    Statement,
    Verb,
)

from lms_plugin.orm import utc_iso

LANGUAGE = "en-US"

ACHIEVED = "https://w3id.org/xapi/tla/verbs/achieved"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
EARNED = "http://specification.openbadges.org/xapi/verbs/earned"

COMPETENCY = "https://w3id.org/xapi/tla/activity-types/competency"
COMPETENCY_FRAMEWORK = "https://w3id.org/xapi/tla/activity-types/competency-framework"
ASSESSMENT = "https://w3id.org/xapi/tla/activity-types/assessment"
COURSE = "http://adlnet.gov/expapi/activities/course"
BADGE = "http://activitystrea.ms/schema/1.0/badge"
RECIPE = "http://id.tincanapi.com/activitytype/recipe"
OPEN_BADGES_RECIPE = "http://specification.openbadges.org/xapi/recipe/base/0_0_2"

EVIDENCE = "https://w3id.org/xapi/tla/extensions/evidence"
BADGE_ASSERTION = "http://specification.openbadges.org/xapi/extensions/badgeassertion"
BADGE_CLASS = "http://specification.openbadges.org/xapi/extensions/badgeclass"
LTI_CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
LTI_RESOURCE_LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
LTI_DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"

VERDICT_SUCCESS = {"met": True, "not_yet": False}
_KEY_ORDER = ("id", "actor", "verb", "object", "result", "context", "timestamp", "attachments")
_CACHE_SIZE = 4096
_Part = TypeVar("_Part")


def _frozen(part: _Part) -> _Part:
    """Serialize a shared part (an agent, an activity, a context) once: tincan's `as_version`
    walks and copies the whole tree on every call, which is most of a statement's cost, and
    these parts repeat across statements. The part must not be changed afterwards."""
    serialized = part.as_version()  # type: ignore[attr-defined]
    object.__setattr__(part, "as_version", lambda *_version: serialized)
    object.__setattr__(part, "json", _dumps(serialized))
    return part


# What `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` writes, without building an
# encoder on each call (a bulk save writes several strings a statement).
_dumps: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@functools.lru_cache(maxsize=64)
def _timestamp_json(value: dt.datetime) -> str:
    """A timestamp as JSON (the statements of a batch share a handful)."""
    return _dumps(format_timestamp(value))


@functools.lru_cache(maxsize=4096)
def _timestamp_text(value: dt.datetime) -> str:
    """`format_timestamp`, for statement ids (a batch's judgements share one time)."""
    return format_timestamp(value)


def _result_json(success: bool, response: str | None, evidence_url: str | None) -> str:
    """A judgement's result as tincan writes it (`success`, `response`, `extensions`)."""
    members = ['"success":true' if success else '"success":false']
    if response:
        members.append(f'"response":{_dumps(response)}')
    if evidence_url:
        members.append(f'"extensions":{{{_dumps(EVIDENCE)}:[{_dumps(evidence_url)}]}}')
    return "{" + ",".join(members) + "}"


_ACHIEVED_RESULT = '{"success":true,"completion":true}'
# A UUID's 17th hex digit with its top two bits set to RFC 4122's variant (10).
_VARIANT = {digit: "89ab"[int(digit, 16) & 0b11] for digit in "0123456789abcdef"}


def _shared(build: Callable[..., _Part]) -> Callable[..., _Part]:
    """`build`, memoized on its (hashable) arguments, its results frozen."""
    return functools.lru_cache(maxsize=_CACHE_SIZE)(lambda *args: _frozen(build(*args)))


@dataclass(frozen=True)
class AgentRef:
    """A learner or evaluator as the LMS knows them: platform issuer and LTI `sub`."""

    issuer: str
    sub: str
    name: str = ""
    email: str | None = None


@dataclass(frozen=True)
class FrameworkRef:
    """A framework version (its public page is `{BASE_URL}/frameworks/<version_id>`)."""

    version_id: int
    title: str
    version_label: str = ""


@dataclass(frozen=True)
class LevelRef:
    id: int
    key: str
    label: str


@dataclass(frozen=True)
class CompetencyRef:
    """One statement of a framework ("<competency> — <performance context>")."""

    id: int
    text: str


@dataclass(frozen=True)
class PlacementRef:
    """Where a judgement happened: the course and the resource link, with their LTI ids."""

    course_id: int
    context_id: str
    course_title: str
    link_id: int
    resource_link_id: str
    link_title: str
    deployment_id: str | None = None


@dataclass(frozen=True)
class BuiltStatement:
    """A statement ready for the outbox: its id and its JSON text (sent byte for byte)."""

    id: str
    payload: str


def format_timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, e.g. `2026-11-22T20:56:53.635Z`."""
    return utc_iso(value, "milliseconds")


def serialize(statement: Statement, timestamp: dt.datetime) -> str:
    """The statement's JSON text: without tincan's `version`, with our timestamp, compact."""
    data: dict[str, Any] = statement.as_version()
    data.pop("version", None)
    data["timestamp"] = format_timestamp(timestamp)
    ordered = {key: data[key] for key in _KEY_ORDER if key in data}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


class StatementFactory:
    """Builds the tool's statements; `base_url` names the public IRIs and the id namespace."""

    def __init__(self, base_url: str, include_email: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.include_email = include_email
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base_url}/xapi")
        # UUIDv5 is SHA-1 of the namespace then the name: hash the namespace once.
        self._namespace_sha1 = hashlib.sha1(self.namespace.bytes)  # noqa: S324 - as RFC 4122
        self._tool = _frozen(
            Agent(
                name="Competency Credentials",
                account=AgentAccount(home_page=self.base_url, name="tool"),
            )
        )
        self._achieved = _frozen(Verb(id=ACHIEVED, display=LanguageMap({LANGUAGE: "achieved"})))
        self._voided = _frozen(Verb(id=VOIDED, display=LanguageMap({LANGUAGE: "voided"})))
        self._earned = _frozen(Verb(id=EARNED, display=LanguageMap({LANGUAGE: "earned"})))
        self.agent = _shared(self._agent)
        self._activity = _shared(_activity)
        self._context = _shared(self._build_context)

    # ids ------------------------------------------------------------------------------------

    def statement_id(self, cause: str) -> str:
        """`str(uuid.uuid5(self.namespace, cause))`, at a third of the cost (three a judgement):
        the SHA-1's first 32 hex digits with the version digit set to 5 and the variant bits of
        the 17th digit to RFC 4122's."""
        digest = self._namespace_sha1.copy()
        digest.update(cause.encode())
        hex_ = digest.hexdigest()
        variant = _VARIANT[hex_[16]]
        return f"{hex_[:8]}-{hex_[8:12]}-5{hex_[13:16]}-{variant}{hex_[17:20]}-{hex_[20:32]}"

    def judgement_statement_id(self, judgement_id: int, judged_at: dt.datetime) -> str:
        """The id of a judgement's statement (the judgement time guards against a database
        rebuilt from scratch reusing row ids in the same LRS)."""
        return self.statement_id(f"judgement/{judgement_id}/{_timestamp_text(judged_at)}")

    def level_statement_id(self, achievement_id: int, achieved_at: dt.datetime) -> str:
        return self.statement_id(f"achievement/{achievement_id}/{_timestamp_text(achieved_at)}")

    def credential_statement_id(self, credential_id: str) -> str:
        return self.statement_id(f"credential/{credential_id}")

    # IRIs -----------------------------------------------------------------------------------

    def framework_iri(self, framework: FrameworkRef) -> str:
        return f"{self.base_url}/frameworks/{framework.version_id}"

    def level_iri(self, framework: FrameworkRef, level: LevelRef) -> str:
        return f"{self.framework_iri(framework)}#level-{level.id}"

    def competency_iri(self, framework: FrameworkRef, competency: CompetencyRef) -> str:
        return f"{self.framework_iri(framework)}#statement-{competency.id}"

    def achievement_iri(self, framework: FrameworkRef, level: LevelRef) -> str:
        return f"{self.framework_iri(framework)}#achievement-{level.id}"

    # statements -----------------------------------------------------------------------------

    def judgement(
        self,
        *,
        judgement_id: int,
        judged_at: dt.datetime,
        verdict: str,
        learner: AgentRef,
        evaluator: AgentRef,
        competency: CompetencyRef,
        level: LevelRef,
        framework: FrameworkRef,
        placement: PlacementRef,
        comment: str | None = None,
        evidence_url: str | None = None,
    ) -> BuiltStatement:
        """The learner achieved (or not yet) one framework statement, as judged."""
        if verdict not in VERDICT_SUCCESS:
            raise ValueError(f"a {verdict!r} judgement has no statement (only a voiding one)")
        statement_id = self.judgement_statement_id(judgement_id, judged_at)
        # The hot path of a bulk request (a statement per judgement): the same bytes as
        # `serialize(Statement(...))` (tests check), composed from the parts' JSON, which tincan
        # builds once per learner, competency and context (the id, a UUID, needs no escaping).
        actor = self.agent(learner).json
        competency_json = self._activity(
            self.competency_iri(framework, competency), COMPETENCY, competency.text
        ).json
        result = _result_json(VERDICT_SUCCESS[verdict], comment, evidence_url)
        context = self._context(framework, placement, level, evaluator).json
        payload = (
            f'{{"id":"{statement_id}","actor":{actor},"verb":{self._achieved.json},'
            f'"object":{competency_json},"result":{result},"context":{context},'
            f'"timestamp":{_timestamp_json(judged_at)}}}'
        )
        return BuiltStatement(statement_id, payload)

    def level_achieved(
        self,
        *,
        achievement_id: int,
        achieved_at: dt.datetime,
        learner: AgentRef,
        level: LevelRef,
        framework: FrameworkRef,
        placement: PlacementRef,
        evaluator: AgentRef | None = None,
    ) -> BuiltStatement:
        """The learner achieved a level of the framework (composed like `judgement`)."""
        statement_id = self.level_statement_id(achievement_id, achieved_at)
        actor = self.agent(learner).json
        level_json = self.level_activity(framework, level).json
        context = self._context(framework, placement, None, evaluator).json
        payload = (
            f'{{"id":"{statement_id}","actor":{actor},"verb":{self._achieved.json},'
            f'"object":{level_json},"result":{_ACHIEVED_RESULT},"context":{context},'
            f'"timestamp":{_timestamp_json(achieved_at)}}}'
        )
        return BuiltStatement(statement_id, payload)

    def credential_issued(
        self,
        *,
        learner: AgentRef,
        credential_id: str,
        level: LevelRef,
        framework: FrameworkRef,
        issued_at: dt.datetime,
        achievement_id: str | None = None,
        achievement_name: str | None = None,
        issuer_id: str | None = None,
        placement: PlacementRef | None = None,
    ) -> BuiltStatement:
        """The learner earned an Open Badges credential for a level (Open Badges xAPI
        vocabulary: verb `earned`, the badge as object, the credential as assertion)."""
        achievement = achievement_id or self.achievement_iri(framework, level)
        name = achievement_name or f"{framework.title}: {level.label}"
        badge_class: dict[str, str] = {"@id": achievement}
        if issuer_id:
            badge_class["issuer"] = issuer_id
        badge = Activity(
            id=achievement,
            definition=ActivityDefinition(
                type=BADGE,
                name=LanguageMap({LANGUAGE: name}),
                extensions=Extensions({BADGE_CLASS: badge_class}),
            ),
        )
        recipe = Activity(id=OPEN_BADGES_RECIPE, definition=ActivityDefinition(type=RECIPE))
        grouping = [self.framework_activity(framework)]
        if placement is not None:
            grouping += self._placement_activities(placement)
        context = Context(
            language=LANGUAGE,
            context_activities=ContextActivities(
                parent=ActivityList([self.level_activity(framework, level)]),
                grouping=ActivityList(grouping),
                category=ActivityList([recipe]),
            ),
            extensions=self._lti_extensions(placement) if placement else None,
        )
        statement_id = self.credential_statement_id(credential_id)
        statement = Statement(
            id=statement_id,
            actor=self.agent(learner),
            verb=self._earned,
            object=badge,
            result=Result(extensions=Extensions({BADGE_ASSERTION: {"@id": credential_id}})),
            context=context,
        )
        return BuiltStatement(statement_id, serialize(statement, issued_at))

    def voiding(
        self, *, target_id: str, voided_at: dt.datetime, by: AgentRef | None = None
    ) -> BuiltStatement:
        """Voids statement `target_id` (one of ours: a UUID in lower case); `by` is who caused it
        (the tool itself when None). Composed like `judgement`."""
        statement_id = self.statement_id(f"void/{target_id}")
        actor = (self.agent(by) if by is not None else self._tool).json
        payload = (
            f'{{"id":"{statement_id}","actor":{actor},"verb":{self._voided.json},'
            f'"object":{{"objectType":"StatementRef","id":{_dumps(target_id)}}},'
            f'"timestamp":{_timestamp_json(voided_at)}}}'
        )
        return BuiltStatement(statement_id, payload)

    # parts ----------------------------------------------------------------------------------

    def _agent(self, person: AgentRef) -> Agent:
        """An Agent identified by exactly one IFI: the LTI account (platform issuer + sub), or
        the e-mail address when the operator turned e-mail on and the LMS gave one."""
        name = person.name or None
        if self.include_email and person.email:
            return Agent(name=name, mbox=f"mailto:{person.email}")
        return Agent(name=name, account=AgentAccount(home_page=person.issuer, name=person.sub))

    def level_activity(self, framework: FrameworkRef, level: LevelRef) -> Activity:
        return self._activity(
            self.level_iri(framework, level),
            COMPETENCY,
            level.label,
            f"{framework.title}: level {level.label}",
        )

    def framework_activity(self, framework: FrameworkRef) -> Activity:
        title = framework.title
        if framework.version_label:
            title = f"{title} (version {framework.version_label})"
        return self._activity(self.framework_iri(framework), COMPETENCY_FRAMEWORK, title)

    def _placement_activities(self, placement: PlacementRef) -> list[Activity]:
        course = self._activity(
            f"{self.base_url}/courses/{placement.course_id}", COURSE, placement.course_title
        )
        link = self._activity(
            f"{self.base_url}/activities/{placement.link_id}", ASSESSMENT, placement.link_title
        )
        return [course, link]

    def _build_context(
        self,
        framework: FrameworkRef,
        placement: PlacementRef,
        level: LevelRef | None,
        evaluator: AgentRef | None,
    ) -> Context:
        activities = ContextActivities(
            grouping=ActivityList(
                [self.framework_activity(framework), *self._placement_activities(placement)]
            )
        )
        if level is not None:
            activities.parent = ActivityList([self.level_activity(framework, level)])
        return Context(
            instructor=self.agent(evaluator) if evaluator is not None else None,
            language=LANGUAGE,
            context_activities=activities,
            extensions=self._lti_extensions(placement),
        )

    @staticmethod
    def _lti_extensions(placement: PlacementRef) -> Extensions:
        values: dict[str, Any] = {
            LTI_CONTEXT: _without_empty(
                {"id": placement.context_id, "title": placement.course_title}
            ),
            LTI_RESOURCE_LINK: _without_empty(
                {"id": placement.resource_link_id, "title": placement.link_title}
            ),
        }
        if placement.deployment_id:
            values[LTI_DEPLOYMENT_ID] = placement.deployment_id
        return Extensions(values)


def _activity(iri: str, activity_type: str, name: str, description: str | None = None) -> Activity:
    definition = ActivityDefinition(type=activity_type)
    if name:
        definition.name = LanguageMap({LANGUAGE: name})
    if description:
        definition.description = LanguageMap({LANGUAGE: description})
    return Activity(id=iri, definition=definition)


def _without_empty(values: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def credential_issued_statement(
    *,
    base_url: str,
    learner: AgentRef,
    credential_id: str,
    level: LevelRef,
    framework: FrameworkRef,
    issued_at: dt.datetime,
    include_email: bool = False,
    **details: Any,
) -> BuiltStatement:
    """The "credential issued" statement from plain values (see
    `StatementFactory.credential_issued` for the optional `details`: achievement_id,
    achievement_name, issuer_id, placement). Queue it with `xapi.outbox.enqueue`."""
    factory = StatementFactory(base_url, include_email=include_email)
    return factory.credential_issued(
        learner=learner,
        credential_id=credential_id,
        level=level,
        framework=framework,
        issued_at=issued_at,
        **details,
    )
