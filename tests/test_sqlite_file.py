"""The embedded SQLite database holds personal data: its file is its owner's only (0600), in an
instance folder created 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lms_plugin import create_app
from lms_plugin.config import ENVIRONMENT_KEYS
from lms_plugin.database import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in (*ENVIRONMENT_KEYS, "INSTANCE_PATH"):
        monkeypatch.delenv(key, raising=False)
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_init_creates_the_instance_folder_and_database_for_their_owner_only(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "SEEDS_DIR": str(tmp_path / "no-seeds")})
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    database = instance / "lms_plugin.sqlite3"
    assert mode(instance) == 0o700
    assert mode(database) == 0o600 and database.stat().st_size > 0
    for companion in (instance / "lms_plugin.sqlite3-wal", instance / "lms_plugin.sqlite3-shm"):
        if companion.exists():
            assert mode(companion) == 0o600


def test_an_existing_database_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "shared.sqlite3"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect():
        pass
    engine.dispose()
    assert mode(database) == 0o600
    # A new file in a new folder: both private from the start.
    fresh = tmp_path / "new-folder" / "fresh.sqlite3"
    make_engine(f"sqlite:///{fresh}").dispose()
    assert mode(fresh.parent) == 0o700 and mode(fresh) == 0o600
