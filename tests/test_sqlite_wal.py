"""SQLite's WAL is checkpointed every 10,000 pages, not every 1,000: a bulk save writes more than
1,000, and checkpointing at each commit cost it more than the commit itself."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from lms_plugin.database import make_engine

PAGE = 4096


def test_a_commit_of_1500_pages_stays_in_the_wal_and_the_wal_is_kept_under_64_mib(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE pages (data BLOB)"))
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == PAGE
            settings = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("wal_autocheckpoint", "journal_size_limit")
            ]
        assert settings == [10_000, 64 * 1024 * 1024]
        before = path.stat().st_size

        with engine.begin() as connection:
            connection.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)"
                    " INSERT INTO pages SELECT randomblob(3900) FROM n"
                )
            )

        assert path.stat().st_size == before  # not checkpointed into the database file
        assert Path(f"{path}-wal").stat().st_size > 1500 * PAGE
    finally:
        engine.dispose()
