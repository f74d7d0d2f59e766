"""Find flag keys referenced in source code (OpenFeature SDK calls in Ruby, TypeScript/JavaScript and Python)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = {"node_modules", ".git", ".venv", "venv", "vendor", "dist", "build", "__pycache__", ".tox"}
_Q = r"""(?P<q>['"`])(?P<key>[A-Za-z0-9_.:\-/]+)(?P=q)"""
PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "python": [
        re.compile(r"\bget_(?:boolean|string|integer|float|object)_(?:value|details)\(\s*(?:flag_key\s*=\s*)?" + _Q)
    ],
    "typescript": [
        re.compile(r"\bget(?:Boolean|String|Number|Object)(?:Value|Details)\(\s*" + _Q),
        re.compile(r"\buse(?:Boolean|String|Number|Object)?Flag(?:Value|Details)?\(\s*" + _Q),
    ],
    "ruby": [
        re.compile(
            r"\bfetch_(?:boolean|string|number|integer|float|object)_(?:value|details)\(?\s*(?:flag_key:\s*)?" + _Q
        ),
        re.compile(r"\bFlipper\.enabled\?\(\s*:(?P<key>[A-Za-z0-9_]+)"),
        re.compile(r"\bFlipper\.enabled\?\(\s*" + _Q),
    ],
}
LANGUAGES = {
    ".py": "python",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".js": "typescript",
    ".jsx": "typescript",
    ".mjs": "typescript",
    ".cjs": "typescript",
    ".rb": "ruby",
    ".erb": "ruby",
}


@dataclass(frozen=True)
class Reference:
    key: str
    file: str
    line: int
    language: str


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.suffix in LANGUAGES and path.is_file() and not SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def scan_text(text: str, language: str, file: str = "") -> list[Reference]:
    refs = []
    for pattern in PATTERNS[language]:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            refs.append(Reference(key=match.group("key"), file=file, line=line, language=language))
    return sorted(refs, key=lambda r: (r.line, r.key))


def scan_tree(root: Path) -> list[Reference]:
    refs: list[Reference] = []
    for path in _files(root):
        if path.stat().st_size > MAX_FILE_BYTES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        shown = str(path.relative_to(root)) if root.is_dir() else path.name
        refs.extend(scan_text(text, LANGUAGES[path.suffix], shown))
    return refs


def report(refs: list[Reference], known: set[str] | None) -> dict[str, Any]:
    used: dict[str, list[str]] = {}
    for ref in refs:
        used.setdefault(ref.key, []).append(f"{ref.file}:{ref.line}")
    out: dict[str, Any] = {"references": used}
    if known is not None:
        out["unused_flags"] = sorted(known - set(used))
        out["unknown_flags"] = sorted(set(used) - known)
    return out
