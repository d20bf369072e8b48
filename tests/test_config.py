from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from eventrail.config import Settings


def test_defaults_are_sqlite_in_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("EVENTRAIL_"):
            monkeypatch.delenv(key)
    settings = Settings()
    assert settings.database_url == "sqlite:///eventrail.db"
    assert settings.is_sqlite


def test_postgres_url_uses_psycopg() -> None:
    settings = Settings(database_url="postgresql://u@h:5432/d")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h:5432/d"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "overrides",
    [
        {"database_url": "mysql://x"},
        {"secret_key": "short"},
        {"public_url": "ftp://x"},
        {"log_level": "loud"},
        {"default_token_ttl_seconds": 5},
        {"read_database_url": "mysql://replica"},
        {"read_database_url": "postgresql://replica"},  # the primary is SQLite
        {"read_threads": 0},
    ],
)
def test_unsafe_settings_fail_at_start(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTRAIL_PUBLIC_URL", "https://events.example.com/")
    assert Settings().public_url == "https://events.example.com"


def test_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = settings.signing_key()
    assert len(key) >= 32
    path = tmp_path / ".eventrail-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path).signing_key() == key
    assert not list(tmp_path.glob("*.tmp"))


def test_configured_secret_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    assert settings.signing_key() == "k" * 40
    assert not (tmp_path / ".eventrail-secret").exists()
