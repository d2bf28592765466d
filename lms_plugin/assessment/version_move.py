"""Moving a placement to a newer version of its framework.

A learner's judgement of a statement whose text is unchanged in the new version carries over: a
copy is appended for the new version's statement, with the same verdict, comment, evidence and
evaluator, and `carried_over_from_id` naming the judgement it copies (history shows it as carried
over). Statements changed or added in the new version start unjudged. Levels are then recomputed
under the new version (achievements of the new levels are recorded and the listeners hear of them,
so credentials and scores follow); nothing is deleted: the earlier version's judgements and
achievements stay as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.assessment import current_cells
from lms_plugin.assessment.models import Judgement
from lms_plugin.assessment.services import (
    AssessmentListener,
    LevelEvent,
    Placement,
    change_rule,
    current_verdicts,
    learners,
    load_placement,
    lock_learners,
)
from lms_plugin.frameworks.models import FrameworkVersion
from lms_plugin.lti.models import ResourceLink
from lms_plugin.orm import utcnow


class MoveError(ValueError):
    """The placement cannot move to that version (the message says why, for people)."""


@dataclass
class MoveReport:
    """What a move did: judgements carried over, the earlier version's statements that have no
    unchanged counterpart in scope (changed or removed), the new version's statements that start
    unjudged (changed or added), and the level changes."""

    from_version: FrameworkVersion
    to_version: FrameworkVersion
    carried: list[Judgement] = field(default_factory=list)
    left_behind: list[int] = field(default_factory=list)
    unjudged: list[int] = field(default_factory=list)
    events: list[LevelEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """A placement's statements against a later version's (levels in scope only): statement ids
    matched by unchanged text (earlier -> later), the earlier ones left behind (changed or
    removed), the later ones that start unjudged (changed or added)."""

    unchanged: dict[int, int]
    left_behind: list[int]
    unjudged: list[int]


def compare(before: Placement, after: Placement) -> Comparison:
    by_text = {statement.text: statement.id for statement in after.statements.values()}
    unchanged = {
        old.id: by_text[old.text] for old in before.statements.values() if old.text in by_text
    }
    return Comparison(
        unchanged,
        sorted(set(before.statements) - set(unchanged)),
        sorted(set(after.statements) - set(unchanged.values())),
    )


def later_versions(
    session: Session, placement: Placement
) -> list[tuple[FrameworkVersion, Comparison]]:
    """The versions of the placement's framework after its own, each compared with it."""
    versions = session.scalars(
        select(FrameworkVersion)
        .where(
            FrameworkVersion.framework_id == placement.version.framework_id,
            FrameworkVersion.revision > placement.version.revision,
        )
        .order_by(FrameworkVersion.revision)
    ).all()
    return [(version, compare(placement, _placed_on(placement, version))) for version in versions]


def _placed_on(placement: Placement, version: FrameworkVersion) -> Placement:
    """The placement as it would be on `version` (same level keys, where they exist)."""
    keys = placement.link.level_keys
    levels = [level for level in version.levels if not keys or level.key in keys]
    return Placement(link=placement.link, version=version, levels=levels, rule=placement.rule)


def move_placement(
    session: Session,
    link: ResourceLink,
    to_version_id: int,
    listeners: Iterable[AssessmentListener] = (),
    now: dt.datetime | None = None,
) -> MoveReport:
    """Move `link` to version `to_version_id` of the same framework (a later revision). Flushes;
    the caller commits."""
    before = load_placement(session, link)
    if before is None:
        raise MoveError("This activity has no framework yet: choose one instead of moving.")
    target = session.get(FrameworkVersion, to_version_id)
    if target is None:
        raise MoveError(f"There is no framework version with id {to_version_id}.")
    if target.framework_id != before.version.framework_id:
        raise MoveError("That version belongs to another framework.")
    if target.revision <= before.version.revision:
        raise MoveError(
            f"The activity uses revision {before.version.revision}; "
            f"it can only move to a later revision (not {target.revision})."
        )
    keys = [level.key for level in target.levels]
    if link.level_keys:
        kept = [key for key in link.level_keys if key in keys]
        if not kept:
            raise MoveError("None of the activity's levels is in that version.")
        link.level_keys = kept
    people = {person.id for person in learners(session, link.course_id)}
    cells = current_verdicts(session, link.id)
    learner_ids = people | {learner for learner, _ in cells}
    lock_learners(session, link.id, learner_ids)
    cells = current_verdicts(session, link.id, learner_ids)  # as committed, now under the lock

    link.framework_version_id = target.id
    session.flush()
    after = load_placement(session, link)
    assert after is not None
    comparison = compare(before, after)
    old_to_new = comparison.unchanged
    report = MoveReport(before.version, target)
    report.left_behind, report.unjudged = comparison.left_behind, comparison.unjudged
    originals = {row.id: row for row in cells.values() if row.statement_id in old_to_new}
    rows = session.scalars(select(Judgement).where(Judgement.id.in_(list(originals)))).all()
    for original in sorted(rows, key=lambda j: j.id):
        if original.verdict == "clear":
            continue
        report.carried.append(
            Judgement(
                resource_link_id=link.id,
                learner_id=original.learner_id,
                statement_id=old_to_new[original.statement_id],
                verdict=original.verdict,
                comment=original.comment,
                evidence_url=original.evidence_url,
                show_in_credential=original.show_in_credential,
                judged_by_id=original.judged_by_id,
                judged_at=original.judged_at,
                carried_over_from_id=original.id,
            )
        )
    session.add_all(report.carried)
    session.flush()
    current_cells.keep(session, report.carried)
    # The same rule, recomputed for every learner under the new version's levels.
    report.events = change_rule(session, after, after.rule, listeners, now or utcnow())
    return report
