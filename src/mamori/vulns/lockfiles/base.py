"""What every lockfile parser shares: the error type and small helpers."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml


class LockfileError(ValueError):
    """A lockfile or manifest that cannot be read; the message names the file and what is wrong."""


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise LockfileError(f"{path}: cannot read ({exc})") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path) or "null")
    except json.JSONDecodeError as exc:
        raise LockfileError(f"{path}: could not extract from file: not valid JSON ({exc})") from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"{path}: could not extract from file: not valid TOML ({exc})") from None


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise LockfileError(f"{path}: could not extract from file: not valid YAML ({exc})") from None


def expect_mapping(data: Any, path: Path, what: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LockfileError(f"{path}: could not extract from file: expected {what} to be an object")
    return data
