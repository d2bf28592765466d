"""Statement ids are UUIDv5 of their cause in the tool's namespace, exactly as `uuid.uuid5`
makes them (the factory hashes the namespace once, then each cause)."""

from __future__ import annotations

import datetime as dt
import uuid

from xapi.statements import StatementFactory, format_timestamp


def test_statement_ids_are_uuid5_of_their_cause() -> None:
    factory = StatementFactory("https://tool.example/")
    causes = ["", "judgement/1/2026-12-01T09:00:00.000Z", "void/é—ü/😀", "x" * 5000]
    for cause in causes:
        expected = str(uuid.uuid5(factory.namespace, cause))
        assert factory.statement_id(cause) == expected
        assert uuid.UUID(expected).version == 5
    moment = dt.datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)
    assert factory.judgement_statement_id(7, moment) == str(
        uuid.uuid5(factory.namespace, f"judgement/7/{format_timestamp(moment)}")
    )
    assert factory.level_statement_id(7, moment) == str(
        uuid.uuid5(factory.namespace, f"achievement/7/{format_timestamp(moment)}")
    )
