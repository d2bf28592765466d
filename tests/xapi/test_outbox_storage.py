"""How PostgreSQL stores the outbox: payloads compressed with lz4 (migration
20261203_outbox_storage: a judgement statement is just over the 2 KB TOAST threshold, and pglz
was a quarter of the cost of writing the rows); pages with room for a claim and no foreign keys
(20261204)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, create_engine, inspect, text, true
from sqlalchemy.orm import Session

from xapi.delivery import Destination, Worker
from xapi.lrs import LrsAnswer, LrsSettings

SETTINGS = LrsSettings("http://127.0.0.1:9/xAPI/", "test", "test")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_statement_over_the_toast_threshold_is_stored_lz4_compressed(database_url: str) -> None:
    payload = json.dumps({"id": str(uuid.uuid4()), "context": ["http://tool.test/x"] * 100})
    assert 2100 < len(payload) < 4000
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "INSERT INTO xapi_outbox (statement_id, payload, state, attempts,"
                    " next_attempt_at, created_at)"
                    " VALUES (:id, :payload, 'queued', 0, now(), now())"
                ),
                {"id": str(uuid.uuid4()), "payload": payload},
            )
            stored = connection.execute(
                text("SELECT pg_column_compression(payload) FROM xapi_outbox")
            ).scalar_one()
            connection.rollback()
    finally:
        engine.dispose()
    assert stored == "lz4"


class PageWatchingLrs:
    """An LRS client that, when a claimed batch is sent (the claim committed), reads on which
    page each row now is, then accepts the batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pages: dict[int, int] = {}

    def post_statements(self, payloads: Sequence[str]) -> LrsAnswer:
        self.pages = pages(self.engine)
        return LrsAnswer(200, "[]")


def pages(engine: Engine) -> dict[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, (ctid::text::point)[0] FROM xapi_outbox"))
        return {id: int(page) for id, page in rows}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_claim_leaves_each_row_on_its_page(database_url: str) -> None:
    """Outbox pages are written half full (migration 20261204_outbox_fillfactor), so the claim's
    new row versions stay on their pages and no index is written: with full pages each went to
    another page and into every index, the unique index of random statement ids among them."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            options = connection.execute(
                text("SELECT reloptions FROM pg_class WHERE relname = 'xapi_outbox'")
            ).scalar_one()
            assert options == ["fillfactor=50"]
            # Statements of a judgement's size that compress as little as real ones (~900 B).
            connection.execute(
                text(
                    "INSERT INTO xapi_outbox (statement_id, payload, state, attempts,"
                    " next_attempt_at, created_at) VALUES (:id, :payload, 'queued', 0, now(),"
                    " now())"
                ),
                [
                    {"id": str(uuid.uuid4()), "payload": json.dumps([secrets.token_hex(450)])}
                    for _ in range(120)
                ],
            )
        written = pages(engine)
        assert len(set(written.values())) > 10  # the rows fill many pages
        lrs = PageWatchingLrs(engine)
        with Session(engine) as session:
            sender = Worker(lambda _settings: lrs, batch_size=500)  # type: ignore[arg-type, return-value]
            report = sender.deliver(session, [Destination("test", SETTINGS, true())])
        assert report.delivered == 120
        assert lrs.pages == written
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM xapi_outbox"))
            connection.execute(text("DELETE FROM outbox_tallies"))
        engine.dispose()


def test_the_outbox_names_its_destination_without_foreign_keys(database_url: str) -> None:
    """A withdrawing bulk save writes 2,520 outbox rows: as foreign keys, platform and deployment
    were 5,040 lookups, a sixth of the save on PostgreSQL (migration 20261204_outbox_routing).
    The judgements, the record itself, keep every one of theirs."""
    engine = create_engine(database_url)
    try:
        schema = inspect(engine)
        assert schema.get_foreign_keys("xapi_outbox") == []
        judgement_keys = {key["referred_table"] for key in schema.get_foreign_keys("judgements")}
    finally:
        engine.dispose()
    assert judgement_keys == {"resource_links", "people", "framework_statements", "judgements"}
