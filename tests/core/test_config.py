"""Settings: environment over mamori.yaml, clear errors, secrets never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mamori.core.config import load_settings
from mamori.core.errors import InvalidInput, ValidationFailed


def test_environment_wins_over_the_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "mamori.yaml"
    file.write_text("max_body_bytes: 2048\nbase-url: https://mamori.example\nsecret_key: from-file\n")
    settings = load_settings(env={"MAMORI_MAX_BODY_BYTES": "4096", "UNRELATED": "x"}, config_file=file)
    assert settings.max_body_bytes == 4096
    assert settings.base_url == "https://mamori.example"
    assert settings.secret_key.get_secret_value() == "from-file"


def test_sqlite_in_the_data_dir_unless_a_url_is_given(tmp_path: Path) -> None:
    assert load_settings(env={"MAMORI_DATA_DIR": str(tmp_path)}).resolved_database_url == (
        f"sqlite:///{tmp_path.resolve() / 'mamori.db'}"
    )
    url = "postgresql://mamori@db/mamori"
    assert load_settings(env={"MAMORI_DATABASE_URL": url}).resolved_database_url == url


def test_secrets_never_appear_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(env={"MAMORI_SECRET_KEY": "hunter2-very-secret", "MAMORI_JIRA_TOKEN": "jira-xyz"})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s", settings)
    text = repr(settings) + str(settings) + caplog.text + settings.model_dump_json()
    assert "hunter2-very-secret" not in text and "jira-xyz" not in text


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as exc:
        load_settings(env={"MAMORI_MAX_BODY_BYTES": "lots"})
    assert exc.value.problems[0].loc == "max_body_bytes"
    file = tmp_path / "mamori.yaml"
    file.write_text("max_body_bytes: [1\n")
    with pytest.raises(InvalidInput, match="cannot read settings"):
        load_settings(env={}, config_file=file)
    file.write_bytes(b"max_body_bytes: \xff\xfe\n")  # not UTF-8
    with pytest.raises(InvalidInput, match="cannot read settings"):
        load_settings(env={}, config_file=file)
    file.write_text("favourite_colour: blue\n")
    with pytest.raises(ValidationFailed) as exc:
        load_settings(env={}, config_file=file)
    assert exc.value.problems[0].loc == "favourite_colour" and str(file) == exc.value.problems[0].file


def test_signing_key_refuses_an_empty_secret() -> None:
    with pytest.raises(ValidationFailed, match="MAMORI_SECRET_KEY is not set"):
        load_settings(env={}).signing_key()
