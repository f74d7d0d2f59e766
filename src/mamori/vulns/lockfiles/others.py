"""Gemfile.lock, go.mod, Cargo.lock and composer.lock."""

from __future__ import annotations

import re
from pathlib import Path

from mamori.vulns.components import Component
from mamori.vulns.lockfiles.base import LockfileError, expect_mapping, read_json, read_text, read_toml

_GEM_SPEC = re.compile(r"^    ([^\s(]+) \(([^)]+)\)$")
_GEM_PLATFORM = re.compile(r"-(x86|x64|universal|arm|aarch64|java|mingw|mswin|darwin|linux|ruby).*$")


def parse_gemfile_lock(path: Path) -> list[Component]:
    text = read_text(path)
    direct = (
        {m.group(1) for m in re.finditer(r"^  ([^\s!(]+)", text.split("\nDEPENDENCIES\n", 1)[1], re.M)}
        if "\nDEPENDENCIES\n" in text
        else set()
    )
    section = ""
    out = []
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
            continue
        if section not in ("GEM", "GIT", "PATH", "PLUGIN SOURCE"):
            continue
        m = _GEM_SPEC.match(line)
        if m:
            version = _GEM_PLATFORM.sub("", m.group(2))
            out.append(
                Component("RubyGems", m.group(1), version, str(path), direct=(m.group(1) in direct) if direct else None)
            )
    return out


def _go_version(version: str) -> str:
    return version[1:] if version.startswith("v") else version


def parse_go_mod(path: Path) -> list[Component]:  # noqa: C901 - one pass over go.mod directives
    text = read_text(path)
    # a go.mod needs at least one directive (module, go, require, replace, ...) to be one
    if text.strip() and not re.search(
        r"^\s*(module|go|require|replace|exclude|retract|toolchain|godebug)\b", text, re.M
    ):
        raise LockfileError(f"{path}: could not extract from file: no go.mod directive found")
    requires: list[tuple[str, str, bool]] = []  # a module may be required at several versions
    replaces: list[tuple[str, str, str, str]] = []
    block = ""
    go_version = ""
    for raw in text.splitlines():
        line, _, comment = raw.partition("//")
        words = line.split()
        if not words:
            continue
        if words[-1] == "(":
            block = words[0]
            continue
        if words == [")"]:
            block = ""
            continue
        verb, args = (block, words) if block else (words[0], words[1:])
        if verb == "go" and args:
            go_version = args[0]
        elif verb == "require" and len(args) >= 2:
            requires.append((args[0], args[1], "indirect" in comment))
        elif verb == "replace" and "=>" in args:
            i = args.index("=>")
            left, right = args[:i], args[i + 1 :]
            replaces.append((left[0], left[1] if len(left) > 1 else "", right[0], right[1] if len(right) > 1 else ""))
    out: dict[tuple[str, str], Component] = {}
    for required, required_version, indirect in requires:
        name, version = required, required_version
        for old, old_v, new, new_v in replaces:
            if old == required and (not old_v or old_v == required_version):
                name, version = new, new_v or ("" if new.startswith((".", "/")) else required_version)
                break
        out[(name, version)] = Component("Go", name, _go_version(version), str(path), direct=not indirect)
    components = list(out.values())
    if go_version:
        components.append(Component("Go", "stdlib", go_version, str(path), direct=True))
    return components


def parse_cargo_lock(path: Path) -> list[Component]:
    data = read_toml(path)
    out = []
    for pkg in data.get("package", []):
        if not isinstance(pkg, dict) or "name" not in pkg or "version" not in pkg:
            raise LockfileError(f"{path}: a [[package]] entry lacks name or version")
        out.append(Component("crates.io", str(pkg["name"]), str(pkg["version"]), str(path)))
    return out


def parse_composer_lock(path: Path) -> list[Component]:
    data = expect_mapping(read_json(path), path, "the lockfile")
    out = []
    for section, dev in (("packages", False), ("packages-dev", True)):
        for pkg in data.get(section) or []:
            if not isinstance(pkg, dict) or "name" not in pkg:
                raise LockfileError(f"{path}: an entry of {section} lacks a name")
            out.append(Component("Packagist", str(pkg["name"]), str(pkg.get("version", "")), str(path), dev=dev))
    return out
