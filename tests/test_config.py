"""The app factory with each configuration source."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lms_plugin import create_app
from lms_plugin.config import ENVIRONMENT_KEYS, ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (*ENVIRONMENT_KEYS, "INSTANCE_PATH"):
        monkeypatch.delenv(key, raising=False)


def test_defaults_use_sqlite_in_instance_and_generate_a_persistent_secret(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})

    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'lms_plugin.sqlite3'}"
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) >= 40
    again = create_app({"INSTANCE_PATH": str(instance)})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_variables_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("BASE_URL", "https://tool.example.edu/")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "2048")

    app = create_app()

    assert app.instance_path == str(tmp_path / "elsewhere")
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["BASE_URL"] == "https://tool.example.edu"
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert not (tmp_path / "elsewhere" / "secret_key").exists()


def test_explicit_config_overrides_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite:///:memory:",
            "SECRET_KEY": "explicit",
            "TESTING": True,
        }
    )
    assert app.config["DATABASE_URL"] == "sqlite:///:memory:"
    assert app.config["SECRET_KEY"] == "explicit"
    assert app.testing


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BASE_URL", "tool.example.edu", "BASE_URL must be an absolute http"),
        ("BASE_URL", "ftp://tool.example.edu", "BASE_URL must be an absolute http"),
        ("MAX_CONTENT_LENGTH", "lots", "MAX_CONTENT_LENGTH must be an integer"),
    ],
)
def test_unusable_values_are_refused_with_the_variable_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_an_empty_secret_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ConfigError, match="secret_key is empty"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_cli_commands_are_registered_for_flask_too(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert {"init", "demo", "serve", "frameworks"} <= set(app.cli.commands)
