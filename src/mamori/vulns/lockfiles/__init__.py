"""Lockfile, manifest and SBOM parsers, chosen by file name, and the recursive discovery of them under a path."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mamori.vulns.components import Component
from mamori.vulns.lockfiles import js, others, python, sbom
from mamori.vulns.lockfiles.base import LockfileError

Parser = Callable[[Path], list[Component]]

PARSERS: dict[str, Parser] = {
    "Gemfile.lock": others.parse_gemfile_lock,
    "package-lock.json": js.parse_package_lock,
    "npm-shrinkwrap.json": js.parse_package_lock,
    "yarn.lock": js.parse_yarn_lock,
    "pnpm-lock.yaml": js.parse_pnpm_lock,
    "requirements*.txt": python.parse_requirements,
    "poetry.lock": python.parse_poetry_lock,
    "uv.lock": python.parse_uv_lock,
    "Pipfile.lock": python.parse_pipfile_lock,
    "go.mod": others.parse_go_mod,
    "Cargo.lock": others.parse_cargo_lock,
    "composer.lock": others.parse_composer_lock,
    "*.cdx.json": sbom.parse_cyclonedx,
    "bom.json": sbom.parse_cyclonedx,
    "*.spdx.json": sbom.parse_spdx,
}
SKIP_DIRS = {"node_modules", ".git", ".venv", "venv", "vendor", "__pycache__", ".tox"}


def parser_for(path: Path) -> Parser | None:
    for pattern, parser in PARSERS.items():
        if fnmatch.fnmatchcase(path.name, pattern):
            return parser
    return None


@dataclass
class Inventory:
    components: list[Component] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the files behind `errors`


def parse_file(path: Path) -> list[Component]:
    parser = parser_for(path)
    if parser is None:
        raise LockfileError(f"{path}: not a lockfile, manifest or SBOM Mamori reads")
    try:
        return parser(path)
    except FileNotFoundError:
        raise LockfileError(f"{path}: file does not exist") from None
    except (KeyError, TypeError, AttributeError, ValueError, json.JSONDecodeError) as exc:
        if isinstance(exc, LockfileError):
            raise
        raise LockfileError(f"{path}: could not extract from file: unexpected structure ({exc!r})") from None


def discover(root: Path) -> Inventory:
    """Every known file under `root` (or `root` itself); a broken file becomes an error, the rest still scan."""
    inv = Inventory()
    if not root.exists():
        raise LockfileError(f"{root}: no such file or directory")
    paths = (
        [root]
        if root.is_file()
        else sorted(p for p in root.rglob("*") if p.is_file() and not (SKIP_DIRS & set(p.relative_to(root).parts[:-1])))
    )
    for path in paths:
        if parser_for(path) is None:
            continue
        inv.files.append(str(path))
        try:
            inv.components.extend(parse_file(path))
        except LockfileError as exc:
            inv.errors.append(str(exc))
            inv.failed.append(str(path))
    return inv


__all__ = ["PARSERS", "Inventory", "LockfileError", "discover", "parse_file", "parser_for"]
