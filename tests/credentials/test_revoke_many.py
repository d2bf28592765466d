"""`issuance.revoke_many`: several credentials revoked with one lock and one rewrite of each
status list; one revoked already keeps its time and reason. `revoke` is the one-credential case."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select

from lms_plugin.credentials import issuance, status_list
from lms_plugin.credentials.models import Credential, StatusList
from lms_plugin.database import db
from tests.assessment.test_bulk_cost import judge_counting
from tests.courses import placed_course
from tests.lti.platform import LtiPlatform
from tests.plans import statements_of

AT = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def test_revoke_many_locks_each_list_once(
    app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    course = placed_course(app, platform, version_id, learners=2)
    judge_counting(app, course, dict.fromkeys(course.learner_ids, "met"))
    with app.app_context():
        app.extensions["credential_issuer"].issue_pending(db.session)
        db.session.commit()
        first, *others = db.session.scalars(select(Credential).order_by(Credential.id)).all()
        assert len(others) == 3
        assert issuance.revoke(db.session, first, "  ", now=AT)  # blank: the default reason
        db.session.commit()
        assert not issuance.revoke(db.session, first, "again")

    def revoke_all() -> None:
        with app.app_context():
            credentials = db.session.scalars(select(Credential).order_by(Credential.id)).all()
            later = AT + dt.timedelta(hours=1)
            revocations = [(c, f" reason {i} ", later) for i, c in enumerate(credentials)]
            assert issuance.revoke_many(db.session, revocations) == 3
            db.session.commit()

    locks = statements_of(app, revoke_all, "FROM status_lists")
    assert len(locks) == 1
    if app.config["DATABASE_URL"].startswith("postgresql"):  # SQLite: its write lock
        assert "FOR UPDATE" in locks[0][0]
    with app.app_context():
        credentials = db.session.scalars(select(Credential).order_by(Credential.id)).all()
        assert [(c.revoked_at, c.revocation_reason) for c in credentials] == [
            (AT, "Revoked by the issuer"),
            *((AT + dt.timedelta(hours=1), f"reason {i}") for i in range(1, 4)),
        ]
        for credential in credentials:
            listed = db.session.get(StatusList, credential.status_list_id)
            assert listed is not None
            assert status_list.get_bit(listed.bits, credential.status_index)
