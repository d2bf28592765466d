"""The worker's retention pass: what every outbox delivered more than OUTBOX_RETENTION_DAYS ago
is deleted in bounded batches (xAPI statements archived first when XAPI_ARCHIVE_DIR is set);
queued, dead and failed rows are kept, and so is a score that still guards an older queued one."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from lms_plugin import worker
from lms_plugin.assessment.awards import purge_requests
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials.models import CredentialRequest
from lms_plugin.database import db
from lms_plugin.frameworks.models import Level
from lms_plugin.lti.models import ResourceLink, ScoreOutbox
from lms_plugin.lti.scores import purge_scores, score_counts
from lms_plugin.orm import utcnow
from tests.builders import course_rows
from tests.plans import plan, scans_a_table, statements_of
from tests.xapi.test_delivery import queue
from xapi.models import OutboxStatement

NOW = utcnow()
OLD = NOW - dt.timedelta(days=31)
RECENT = NOW - dt.timedelta(days=29)


@pytest.fixture
def learners(app: Flask, version_id: int) -> list[int]:
    """Two learners of a placed link (made directly: only the rows matter here)."""
    with app.app_context():
        course, people = course_rows(db.session, [f"learner-{n}" for n in range(2)])
        link = ResourceLink(
            course_id=course.id, resource_link_id="r1", framework_version_id=version_id
        )
        db.session.add(link)
        db.session.commit()
        return [person.id for person in people]


def add_scores(app: Flask, learner_id: int, *rows: tuple[str, dt.datetime | None]) -> list[int]:
    """Score rows of one learner, oldest first, as (state, delivered_at)."""
    with app.app_context():
        link_id = db.session.scalars(select(ResourceLink.id)).first()
        made = [
            ScoreOutbox(
                resource_link_id=link_id,
                learner_id=learner_id,
                score_given=1,
                score_maximum=2,
                scored_at=NOW,
                next_attempt_at=NOW,
                state=state,
                delivered_at=at,
            )
            for state, at in rows
        ]
        db.session.add_all(made)
        db.session.commit()
        return [row.id for row in made]


def add_requests(app: Flask, learner_id: int, *rows: tuple[str, dt.datetime | None]) -> list[int]:
    with app.app_context():
        link_id = db.session.scalars(select(ResourceLink.id)).first()
        level_id = db.session.scalars(select(Level.id)).first()
        made = []
        for state, at in rows:
            achievement = LevelAchievement(
                resource_link_id=link_id,
                learner_id=learner_id,
                level_id=level_id,
                withdrawn_at=NOW,
            )
            db.session.add(achievement)
            db.session.flush()
            made.append(CredentialRequest(achievement_id=achievement.id, state=state, done_at=at))
        db.session.add_all(made)
        db.session.commit()
        return [row.id for row in made]


def delivered(app: Flask, ids: list[str], at: dt.datetime) -> None:
    with app.app_context():
        db.session.execute(
            update(OutboxStatement)
            .where(OutboxStatement.statement_id.in_(ids))
            .values(state="delivered", delivered_at=at)
        )
        db.session.commit()


def left(app: Flask, column: object) -> list[object]:
    with app.app_context():
        return sorted(db.session.scalars(select(column)))  # type: ignore[call-overload]


def purge(app: Flask) -> None:
    with app.app_context():
        app.extensions.pop("outbox_purge_due", None)
        worker.purge_once()


def test_old_delivered_rows_of_every_outbox_go_and_the_rest_stay(
    app: Flask, learners: list[int]
) -> None:
    first, second = learners
    statements = queue(app, 4)
    delivered(app, statements[:2], OLD)
    delivered(app, statements[2:3], RECENT)
    gone_scores = add_scores(app, first, ("delivered", OLD), ("superseded", OLD))
    kept_scores = add_scores(app, first, ("dead", OLD), ("delivered", RECENT))
    # the newest score of a learner with an older one still queued keeps that one superseded
    kept_scores += add_scores(app, second, ("queued", None), ("delivered", OLD))
    kept_requests = add_requests(app, first, ("queued", None), ("failed", OLD), ("issued", RECENT))
    add_requests(app, first, ("issued", OLD), ("cancelled", OLD))

    purge(app)

    assert left(app, OutboxStatement.statement_id) == statements[2:]
    assert left(app, ScoreOutbox.id) == sorted(kept_scores)
    assert set(gone_scores).isdisjoint(left(app, ScoreOutbox.id))
    assert left(app, CredentialRequest.id) == sorted(kept_requests)


def test_retention_of_zero_days_keeps_everything(make_app: Callable[..., Flask]) -> None:
    app = make_app(OUTBOX_RETENTION_DAYS=0)
    statements = queue(app, 2)
    delivered(app, statements, NOW - dt.timedelta(days=3650))
    purge(app)
    assert left(app, OutboxStatement.statement_id) == statements


def test_a_pass_purges_one_batch_and_waits_once_caught_up(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "PURGE_BATCH", 2)
    statements = queue(app, 5)
    delivered(app, statements, OLD)
    purge(app)
    assert len(left(app, OutboxStatement.id)) == 3
    with app.app_context():
        worker.purge_once()  # the batch was full: go on at once
        assert len(left(app, OutboxStatement.id)) == 1
        worker.purge_once()
        assert left(app, OutboxStatement.id) == []
        more = queue(app, 1)
        delivered(app, more, OLD)
        worker.purge_once()  # the last one was not a full batch: wait PURGE_EVERY
        assert len(left(app, OutboxStatement.id)) == 1


def test_statements_are_archived_before_they_are_purged(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    app = make_app(XAPI_ARCHIVE_DIR=str(folder))
    statements = queue(app, 3)
    delivered(app, statements, OLD)
    purge(app)
    [archive] = folder.iterdir()
    assert archive.name == f"xapi-delivered-{utcnow():%Y-%m-%d}.jsonl"
    lines = archive.read_bytes().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == statements
    assert left(app, OutboxStatement.id) == []


def test_nothing_is_purged_when_the_archive_cannot_be_written(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = make_app(XAPI_ARCHIVE_DIR=str(blocker))
    statements = queue(app, 2)
    delivered(app, statements, OLD)
    with pytest.raises(OSError):
        purge(app)
    assert left(app, OutboxStatement.statement_id) == statements


def test_a_negative_retention_is_refused(make_app: Callable[..., Flask]) -> None:
    from lms_plugin.config import ConfigError

    with pytest.raises(ConfigError, match="OUTBOX_RETENTION_DAYS"):
        make_app(OUTBOX_RETENTION_DAYS=-1)


def test_status_counts_and_purges_read_only_their_states_rows(app: Flask) -> None:
    """`scores status` and the purges of scores and credential requests, like the xAPI outbox's
    (tests/xapi/test_outbox.py), are planned over partial indexes, never a whole table."""

    def work() -> None:
        with app.app_context():
            score_counts(db.session)
            purge_scores(db.session, NOW, 10)
            purge_requests(db.session, NOW, 10)
            db.session.rollback()

    caught = statements_of(app, work, "SELECT")
    plans = [plan(app, sql, params) for sql, params in caught]
    assert not any(scans_a_table(found) for found in plans), plans
    for index in (
        "ix_score_outbox_queued",
        "ix_score_outbox_done",
        "ix_score_outbox_dead",
        "ix_credential_requests_done",
    ):
        assert any(index in found for found in plans), (index, plans)
