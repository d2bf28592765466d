"""Current verdicts (the latest judgement of each cell) read from the table kept on write: right
with long histories, for a page of learners, with or without details; planned over
`current_judgements`' primary key, never over the judgements."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from flask import Flask
from sqlalchemy import select

from lms_plugin.assessment import current_cells, services
from lms_plugin.assessment.models import Judgement
from lms_plugin.database import db
from lms_plugin.frameworks.models import Level, Statement
from lms_plugin.lti.models import ResourceLink
from tests.builders import course_rows
from tests.plans import plan, scans_a_table, statements_of

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def links(app: Flask, version_id: int) -> tuple[list[int], list[int], list[int]]:
    """Two links of one course, four learners and three statements, judged over and over: each
    cell of link A ends on a known verdict; link B's judgements are interleaved and must not
    show through. Returns (link ids, learner ids, statement ids)."""
    with app.app_context():
        course, people = course_rows(db.session, [f"p{n}" for n in range(5)])
        made = [
            ResourceLink(
                course_id=course.id, resource_link_id=name, framework_version_id=version_id
            )
            for name in ("a", "b")
        ]
        db.session.add_all(made)
        db.session.flush()
        statement_ids = list(
            db.session.scalars(
                select(Statement.id)
                .join(Level)
                .where(Level.version_id == version_id)
                .order_by(Statement.id)
                .limit(3)
            )
        )
        link_ids = [link.id for link in made]
        learner_ids = [p.id for p in people[:4]]
        judge = people[4].id
        for round_ in range(4):
            judged = []
            for learner, statement in itertools.product(learner_ids, statement_ids):
                for link in link_ids:
                    judged.append(
                        Judgement(
                            resource_link_id=link,
                            learner_id=learner,
                            statement_id=statement,
                            verdict=expected(link, round_, learner, statement),
                            comment=f"round {round_}",
                            judged_by_id=judge,
                            judged_at=AT + dt.timedelta(minutes=round_),
                        )
                    )
            db.session.add_all(judged)
            db.session.flush()
            current_cells.keep(db.session, judged)  # as `record_judgements` does
        db.session.commit()
        return link_ids, learner_ids, statement_ids


def expected(link: int, round_: int, learner: int, statement: int) -> str:
    return ("met", "not_yet", "clear")[(link + round_ + learner + statement) % 3]


def test_each_cell_gets_its_latest_judgement(app: Flask, links: tuple[list[int], ...]) -> None:
    (link, _other), learners, statements = links
    with app.app_context():
        found = services.current_verdicts(db.session, link)
    assert set(found) == set(itertools.product(learners, statements))
    for (learner, statement), row in found.items():
        assert row.verdict == expected(link, 3, learner, statement)
        assert row.comment == "round 3" and row.judged_at == AT + dt.timedelta(minutes=3)


def test_a_page_of_learners_and_verdicts_alone(app: Flask, links: tuple[list[int], ...]) -> None:
    (link, _other), learners, statements = links
    page = learners[1:3]
    with app.app_context():
        found = services.current_verdicts(db.session, link, page, details=False)
        assert services.current_verdicts(db.session, link, []) == {}
    assert set(found) == set(itertools.product(page, statements))
    for (learner, statement), row in found.items():
        assert row.verdict == expected(link, 3, learner, statement)
        assert row._fields == ("learner_id", "statement_id", "verdict")


@pytest.mark.parametrize("details", [True, False])
def test_planned_over_the_kept_cells_not_the_judgements(
    app: Flask, links: tuple[list[int], ...], details: bool
) -> None:
    (link, _other), learners, _statements = links

    def read() -> None:
        with app.app_context():
            services.current_verdicts(db.session, link, details=details)
            services.current_verdicts(db.session, link, learners[:2], details=details)

    for sql, params in statements_of(app, read, "FROM current_judgements"):
        assert " judgements" not in sql.replace("current_judgements", ""), sql
        found = plan(app, sql, params)
        assert "current_judgements" in found and not scans_a_table(found), found
        assert "Join" not in found and "Sort" not in found, found
