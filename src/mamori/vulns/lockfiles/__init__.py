"""Lockfile, manifest and SBOM parsers, chosen by file name (or, for pip's files, by content), and the
recursive discovery of them under a path, which names every dependency-looking file it did not read and why."""

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
MANIFESTS_WITHOUT_VERSIONS = {
    "package.json": "package-lock.json, npm-shrinkwrap.json, yarn.lock or pnpm-lock.yaml",
    "Gemfile": "Gemfile.lock",
    "Pipfile": "Pipfile.lock",
    "pyproject.toml": "poetry.lock, uv.lock or a pinned requirements file",
    "setup.py": "a pinned requirements file",
    "setup.cfg": "a pinned requirements file",
    "go.sum": "go.mod",
    "Cargo.toml": "Cargo.lock",
    "composer.json": "composer.lock",
}
"""Dependency files that name ranges, not the versions installed: the scan says which lockfile it needs."""
UNREAD = ("*.lock", "*.lockfile", "pom.xml", "build.gradle*", "*.csproj", "packages.config", "requirements*.in")
"""Names that look like dependency files in formats Mamori does not read yet: named, never silently passed."""
SNIFF_SUFFIXES = (".txt", ".lock", ".in", ".pip")
SNIFF_MAX_BYTES = 1024 * 1024


def parser_for(path: Path) -> Parser | None:
    for pattern, parser in PARSERS.items():
        if fnmatch.fnmatchcase(path.name, pattern):
            return parser
    if path.suffix in SNIFF_SUFFIXES and python.looks_like_requirements(path, max_bytes=SNIFF_MAX_BYTES):
        return python.parse_requirements
    return None


def skip_reason(path: Path) -> str | None:
    """Why a file that looks like a dependency file is not read; None for files that do not look like one."""
    if path.name in MANIFESTS_WITHOUT_VERSIONS:
        return f"a manifest without exact versions: scan its lockfile ({MANIFESTS_WITHOUT_VERSIONS[path.name]})"
    if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in UNREAD):
        return "not a format Mamori reads"
    return None


@dataclass
class Inventory:
    components: list[Component] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the files behind `errors`
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) for each dependency-looking file that was not read."""


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
            reason = skip_reason(path) or ("not a lockfile, manifest or SBOM Mamori reads" if path == root else None)
            if reason is not None:
                inv.skipped.append((str(path), reason))
            continue
        inv.files.append(str(path))
        try:
            found = parse_file(path)
            inv.components.extend(found)
            if not found:
                inv.skipped.append((str(path), "read, but it pins no exact versions (name==version): nothing to match"))
        except LockfileError as exc:
            inv.errors.append(str(exc))
            inv.failed.append(str(path))
    return inv


__all__ = ["PARSERS", "Inventory", "LockfileError", "discover", "parse_file", "parser_for"]
