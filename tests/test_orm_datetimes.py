"""`UTCDateTime` reads every timestamp back timezone-aware in UTC (`dt.UTC` itself), whatever the
zone it was written in, the session's TimeZone on PostgreSQL, or the text SQLite holds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import literal, select, text

from lms_plugin.database import db, make_engine
from lms_plugin.lti.models import LaunchState
from lms_plugin.orm import UTCDateTime

MOMENT = dt.datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=dt.UTC)  # Paris moves its clocks at 1:00
POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ZONES = [dt.UTC, ZoneInfo("Europe/Paris"), dt.timezone(dt.timedelta(hours=-3, minutes=-30))]


def _utc(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime) and value.tzinfo is dt.UTC, repr(value)
    return value


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_written_in_any_zone_read_back_in_utc(app: Flask, zone: dt.tzinfo) -> None:
    with app.app_context():
        db.session.add(LaunchState(key="k", value="{}", expires_at=MOMENT.astimezone(zone)))
        db.session.commit()
        db.session.expunge_all()
        assert _utc(db.session.get(LaunchState, "k").expires_at) == MOMENT  # type: ignore[union-attr]
        core = db.session.execute(select(LaunchState.expires_at)).scalar_one()
        assert _utc(core) == MOMENT
        assert db.session.scalar(select(literal(None, UTCDateTime()))) is None


@POSTGRESQL_ONLY
@pytest.mark.parametrize("session_zone", ["UTC", "Etc/UTC", "Europe/Paris", "America/St_Johns"])
def test_postgresql_session_time_zone_does_not_show(app: Flask, session_zone: str) -> None:
    with app.app_context():
        db.session.add(LaunchState(key="k", value="{}", expires_at=MOMENT))
        db.session.flush()
        db.session.execute(text(f"SET LOCAL TIME ZONE '{session_zone}'"))
        read = db.session.execute(select(LaunchState.expires_at)).scalar_one()
        assert _utc(read) == MOMENT
        assert _utc(db.session.scalar(select(literal(MOMENT, UTCDateTime())))) == MOMENT
        db.session.rollback()


@POSTGRESQL_ONLY
def test_postgresql_sessions_run_in_utc_whatever_the_server_zone(app: Flask) -> None:
    """The engine asks for UTC sessions: timestamps come back as `dt.UTC` from the driver, with
    no conversion to pay, even where the server's own zone is another (here: the database's)."""
    with app.app_context():
        name = db.session.scalar(text("SELECT current_database()"))
        db.session.execute(text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Europe/Paris'"))
        db.session.commit()
    try:
        engine = make_engine(app.config["DATABASE_URL"])
        with engine.connect() as connection:
            assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
            assert connection.execute(text("SELECT now()")).scalar().tzinfo is dt.UTC
        engine.dispose()
    finally:
        with app.app_context():
            db.session.execute(text(f'ALTER DATABASE "{name}" RESET TimeZone'))
            db.session.commit()


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("stored", "meant"),
    [
        ("2026-03-29 01:30:05.123456", MOMENT),  # as `UTCDateTime` writes it
        ("2026-03-29 01:30:05", MOMENT.replace(microsecond=0)),  # CURRENT_TIMESTAMP's shape
        ("2026-03-29", MOMENT.replace(hour=0, minute=0, second=0, microsecond=0)),  # a date alone
        ("2026-03-29 03:30:05.123456+02:00", MOMENT),  # text with its own offset
        ("2026-03-29T01:30:05.123456Z", MOMENT),
    ],
)
def test_sqlite_text_read_back_in_utc(app: Flask, stored: str, meant: dt.datetime) -> None:
    with app.app_context():
        db.session.execute(
            text("INSERT INTO launch_state (key, value, expires_at) VALUES ('k', '{}', :at)"),
            {"at": stored},
        )
        assert _utc(db.session.execute(select(LaunchState.expires_at)).scalar_one()) == meant
        db.session.rollback()


def test_naive_datetimes_are_refused(app: Flask) -> None:
    with app.app_context():
        db.session.add(LaunchState(key="k", value="{}", expires_at=MOMENT.replace(tzinfo=None)))
        with pytest.raises(Exception, match="naive datetime"):
            db.session.flush()
        db.session.rollback()
