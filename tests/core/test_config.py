from pathlib import Path

import pytest

from clamor.core.config import ConfigurationError, describe_settings, load_settings


def test_defaults_use_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAMOR_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'clamor.db').resolve()}"
    assert settings.default_language == "zh-CN"


def test_environment_beats_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clamor.toml").write_text('default_language = "en"\nsession_lifetime_hours = 2\n')
    monkeypatch.setenv("CLAMOR_SESSION_LIFETIME_HOURS", "5")
    settings = load_settings(tmp_path)
    assert settings.default_language == "en"
    assert settings.session_lifetime_hours == 5


def test_unknown_setting_in_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "clamor.toml").write_text("colour = 'red'\n")
    with pytest.raises(ConfigurationError, match=r"unknown setting.*colour"):
        load_settings(tmp_path)


def test_bad_value_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAMOR_SESSION_LIFETIME_HOURS", "-1")
    with pytest.raises(ConfigurationError, match="session_lifetime_hours"):
        load_settings(tmp_path)


def test_every_setting_is_described_and_the_secret_hidden(tmp_path: Path) -> None:
    rows = describe_settings(load_settings(tmp_path, secret_key="s3cret"))
    assert all(description for _, _, description in rows)
    secret_row = next(row for row in rows if row[0] == "CLAMOR_SECRET_KEY")
    assert secret_row[1] == "********"
