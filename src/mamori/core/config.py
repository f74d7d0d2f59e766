"""Settings from the environment and an optional mamori.yaml; secrets never appear in logs or reprs."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from mamori.core.errors import InvalidInput, Problem, ValidationFailed

ENV_PREFIX = "MAMORI_"


class Settings(BaseModel):
    """Everything Mamori reads at start-up. Each field is also `MAMORI_<FIELD>` in the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite file and caches live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir when unset.")
    secret_key: SecretStr = Field(default=SecretStr(""), description="Signs cookies and links.")
    base_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    session_cookie_secure: bool = True
    session_hours: int = Field(default=12, gt=0)
    login_max_failures: int = Field(default=5, gt=0)
    login_window_seconds: int = Field(default=900, gt=0)
    allow_private_webhooks: bool = False
    run_worker: bool = True
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "mamori@localhost"
    slack_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api"
    jira_url: str | None = None
    jira_email: str | None = None
    jira_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mamori.db').resolve()}"

    def signing_key(self) -> bytes:
        value = self.secret_key.get_secret_value()
        if not value:
            raise ValidationFailed(
                "MAMORI_SECRET_KEY is not set",
                problems=[Problem(loc="secret_key", msg="set MAMORI_SECRET_KEY to a long random string")],
            )
        return value.encode()


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    known = Settings.model_fields
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in known:
            values[name] = raw
    return values


def load_settings(
    *, env: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    """Settings from mamori.yaml (if given or present in the working directory), then env, then overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_file or (Path(env["MAMORI_CONFIG_FILE"]) if "MAMORI_CONFIG_FILE" in env else None)
    if path is None and Path("mamori.yaml").is_file():
        path = Path("mamori.yaml")
    if path is not None:
        values.update(_read_settings_file(path))
    values.update(_from_env(env))
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = [
            Problem(loc=".".join(str(p) for p in err["loc"]), msg=err["msg"], file=str(path) if path else None)
            for err in exc.errors()
        ]
        raise ValidationFailed("invalid settings", problems=problems) from None


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: cannot read settings: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: settings must be a mapping of names to values")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def generate_secret() -> str:
    return secrets.token_urlsafe(48)
