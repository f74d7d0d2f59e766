"""PyPI lockfiles: requirements*.txt (pinned lines, following -r), poetry.lock, uv.lock, Pipfile.lock."""

from __future__ import annotations

import re
from pathlib import Path

from mamori.vulns.components import Component
from mamori.vulns.lockfiles.base import LockfileError, expect_mapping, read_json, read_text, read_toml

_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(===?)\s*([^\s;,#]+)")


def parse_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[Component]:
    """Pinned requirements (`name==version`); ranges and bare names say nothing exact, so they are skipped."""
    if path.resolve() in _seen:
        return []
    seen = _seen | {path.resolve()}
    out: list[Component] = []
    pins: set[tuple[str, str]] = set()  # a pin repeated through -r files is one package, from where it came first

    def add(c: Component) -> None:
        key = (_normal(c.name), c.version)
        if key not in pins:
            pins.add(key)
            out.append(c)

    for raw in _logical_lines(read_text(path)):
        line = re.split(r"(^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
            target = re.sub(r"^(-r|--requirement)[=\s]*", "", line)
            child = path.parent / target
            if not child.exists():
                raise LockfileError(f"{path}: referenced requirements file {target} does not exist")
            for c in parse_requirements(child, seen):
                add(c)
            continue
        if line.startswith("-"):
            continue
        m = _REQ.match(line)
        if m:
            add(Component("PyPI", m.group(1), m.group(3), str(path)))
    return out


_OPTION = re.compile(r"^(-r|-c|-e|-i|-f|--\w[\w-]*)(\s|=|$)")


def looks_like_requirements(path: Path, *, max_bytes: int) -> bool:
    """A file pip would read as requirements: at least one pinned line, and nothing but requirement lines,
    pip options and comments (so a README.txt or a licence text is never taken for one)."""
    try:
        if path.stat().st_size > max_bytes:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    pinned = 0
    for raw in _logical_lines(text):
        line = re.split(r"(^|\s)#", raw, maxsplit=1)[0].strip()
        if not line or _OPTION.match(line):
            continue
        if _REQ.match(line):
            pinned += 1
        elif not _NAME_ONLY.match(line):
            return False
    return pinned > 0


_NAME_ONLY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*([<>!~=]=?[^\s;,]+\s*,?\s*)*(;.*)?$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_COMMENT_LINE = re.compile(r"^\s*#")


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined as pip joins them: a line ending in a backslash continues on the next line (all
    trailing backslashes dropped), unless it is a comment line; comments are stripped only afterwards."""
    out: list[str] = []
    pending: list[str] = []
    for line in text.splitlines():
        if not line.endswith("\\") or _COMMENT_LINE.match(line):
            if pending:
                out.append("".join([*pending, " " + line if _COMMENT_LINE.match(line) else line]))
                pending = []
            else:
                out.append(line)
        else:
            pending.append(line.strip("\\"))
    if pending:
        out.append("".join(pending))
    return out


def parse_poetry_lock(path: Path) -> list[Component]:
    data = read_toml(path)
    out = []
    for pkg in data.get("package", []):
        if not isinstance(pkg, dict) or "name" not in pkg or "version" not in pkg:
            raise LockfileError(f"{path}: a [[package]] entry lacks name or version")
        groups = pkg.get("groups") or ([pkg["category"]] if "category" in pkg else None)
        dev = None if groups is None else all(g != "main" for g in groups)
        out.append(Component("PyPI", str(pkg["name"]), str(pkg["version"]), str(path), dev=dev))
    return out


def parse_uv_lock(path: Path) -> list[Component]:
    data = read_toml(path)
    packages = [p for p in data.get("package", []) if isinstance(p, dict)]
    roots = [p for p in packages if set(p.get("source") or {}) & {"editable", "virtual"}]
    direct: set[str] = set()
    dev_only: set[str] = set()
    for root in roots:
        prod = {d.get("name") for d in root.get("dependencies", []) if isinstance(d, dict)}
        dev = {
            d.get("name")
            for group in (root.get("dev-dependencies") or {}).values()
            for d in group
            if isinstance(d, dict)
        }
        direct |= {n for n in prod | dev if n}
        dev_only |= {n for n in dev - prod if n}
    out = []
    for pkg in packages:
        if pkg in roots or "version" not in pkg:
            continue
        name = str(pkg["name"])
        is_direct = name in direct
        out.append(
            Component(
                "PyPI",
                name,
                str(pkg["version"]),
                str(path),
                direct=is_direct if roots else None,
                dev=(name in dev_only) if is_direct else None,
            )
        )
    return out


def parse_pipfile_lock(path: Path) -> list[Component]:
    data = expect_mapping(read_json(path), path, "the lockfile")
    found: dict[tuple[str, str], Component] = {}
    for section, dev in (("default", False), ("develop", True)):
        for name, entry in expect_mapping(data.get(section), path, section).items():
            version = str((entry or {}).get("version", "")) if isinstance(entry, dict) else ""
            if not version.startswith("=="):
                continue
            # the same pin in both sections is one package that production also uses
            found.setdefault(
                (name, version), Component("PyPI", name, version.lstrip("="), str(path), direct=True, dev=dev)
            )
    return list(found.values())
