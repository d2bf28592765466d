"""Per-person rate limits on writes (credential copies bound to a DID), kept in the state table."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import func, select, update

from lms_plugin import worker
from lms_plugin.database import db
from lms_plugin.lti import rate_limit
from lms_plugin.lti.models import LaunchState
from lms_plugin.orm import utcnow
from lms_plugin.wallets.models import WalletOffer
from tests.courses import Course

LIMIT = rate_limit.Limit("test-writes", 3, 3600)


def uses(app: Flask, subject: int) -> list[bool]:
    with app.app_context():
        answers = [rate_limit.allow(db.session, LIMIT, subject) for _ in range(4)]
        db.session.commit()
    return answers


def test_a_subject_gets_its_count_per_window_and_others_are_not_affected(app: Flask) -> None:
    assert uses(app, 1) == [True, True, True, False]
    assert uses(app, 1) == [False] * 4
    assert uses(app, 2) == [True, True, True, False]
    with app.app_context():
        other = rate_limit.Limit("other-writes", 1, 60)
        assert rate_limit.allow(db.session, other, 1) is True
        assert rate_limit.allow(db.session, other, 1) is False


def test_uses_leave_the_window_and_expired_ones_are_purged(app: Flask) -> None:
    assert uses(app, 7) == [True, True, True, False]
    with app.app_context():
        # One use is older than the window: one more is allowed, and its row is gone.
        oldest = db.session.scalars(
            select(LaunchState.key).where(LaunchState.key.like("rate:test-writes:7:%")).limit(1)
        ).one()
        db.session.execute(
            update(LaunchState)
            .where(LaunchState.key == oldest)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        db.session.commit()
        assert rate_limit.allow(db.session, LIMIT, 7) is True
        assert rate_limit.allow(db.session, LIMIT, 7) is False
        assert db.session.get(LaunchState, oldest) is None


def test_a_refused_or_rolled_back_use_is_not_counted(app: Flask) -> None:
    with app.app_context():
        assert rate_limit.allow(db.session, LIMIT, 9) is True
        db.session.rollback()  # the request failed after the check
        assert [rate_limit.allow(db.session, LIMIT, 9) for _ in range(4)] == [True] * 3 + [False]
        db.session.commit()
        live = select(func.count()).where(LaunchState.key.like("rate:test-writes:9:%"))
        assert db.session.scalar(live) == 3


def test_wallet_offers_of_credential_copies_are_limited_per_learner(
    app: Flask, course: Course
) -> None:
    learner = course.learners[0]
    achieved = course.staff.judge(
        *[(learner.person_id, s, "met") for s in course.statements["emerging"]]
    )
    assert achieved.status_code == 201
    with app.app_context():
        worker.issue_credentials_once()
    [credential] = learner.get("/api/v1/progress").json["credentials"]
    path = f"/launch/{learner.launch_id}/credentials/{credential['id']}/wallet"
    limit = rate_limit.CREDENTIAL_COPIES
    for _ in range(limit.count):
        assert learner.client.post(path, data={"csrf_token": learner.csrf}).status_code == 200
    refused = learner.client.post(path, data={"csrf_token": learner.csrf})
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert f"You can do this {limit.count} times in 1 hour: please try again later." in page
    assert "<h1>Please wait a little</h1>" in page and "Too Many Requests" not in page
    api = learner.post(f"/api/v1/credentials/{credential['id']}/offer", None)
    assert api.status_code == 429
    with app.app_context():
        offers = select(func.count()).select_from(WalletOffer)
        assert db.session.scalar(offers.where(WalletOffer.learner_id == learner.person_id)) == 5
    # Another learner still can (their own credential).
    other = course.learners[1]
    achieved = course.staff.judge(
        *[(other.person_id, s, "met") for s in course.statements["emerging"]]
    )
    with app.app_context():
        worker.issue_credentials_once()
    [theirs] = other.get("/api/v1/progress").json["credentials"]
    done = other.post(f"/api/v1/credentials/{theirs['id']}/offer", None)
    assert done.status_code == 201
