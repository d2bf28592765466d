"""PostgreSQL compresses outbox payloads with lz4 (migration 20261203_outbox_storage): a
judgement statement is just over the 2 KB TOAST threshold, and pglz was a quarter of the cost
of writing the rows."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text


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
