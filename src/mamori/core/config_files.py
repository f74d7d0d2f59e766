"""Reading configuration files: YAML (safe, timestamps kept as text, limits on aliases, nesting and expanded
size) and JSON, every problem reported with the file and where in it, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mamori.core.errors import Problem, ValidationFailed

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
MAX_CONFIG_FILE_BYTES = 5 * 1024 * 1024

MAX_ALIASES = 100
MAX_DEPTH = 64
MAX_EXPANDED_VALUES = 200_000
"""Limits of one configuration document: YAML aliases, nesting, and values once aliases are expanded (an
alias bomb of a few hundred bytes would otherwise expand to gigabytes when the spec is stored as JSON)."""


class PlainLoader(yaml.SafeLoader):
    """Safe YAML that keeps timestamps as the text written: specs are stored as JSON, and
    times without an offset mean local time to the kind that reads them (a schedule's zone).
    It refuses more than MAX_ALIASES aliases and nesting deeper than MAX_DEPTH."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_big(value: Any, limit: int = MAX_EXPANDED_VALUES) -> bool:
    """Whether `value`, with every shared (aliased) part counted each time it appears, has over `limit` values.
    A value that contains itself is left to the store, which names the circular reference."""
    count = 0

    def walk(item: Any, ancestors: frozenset[int]) -> bool:
        nonlocal count
        count += 1
        if count > limit:
            return True
        if isinstance(item, dict | list):
            if id(item) in ancestors:
                return False
            inner = ancestors | {id(item)}
            children = item.values() if isinstance(item, dict) else item
            return any(walk(child, inner) for child in children)
        return False

    return walk(value, frozenset())


PlainLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def iter_config_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ValidationFailed(f"{root}: no such configuration directory")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in CONFIG_SUFFIXES
        and not any(part.startswith(".") for part in p.parts[len(root.parts) :])
    )


def read_documents(path: Path, problems: list[Problem]) -> list[Any]:
    """The raw documents of one file; what is wrong with it goes into `problems` (and nothing is returned)."""
    try:
        if path.stat().st_size > MAX_CONFIG_FILE_BYTES:
            problems.append(Problem(loc="", msg=f"file is larger than {MAX_CONFIG_FILE_BYTES} bytes", file=str(path)))
            return []
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(loc="", msg=f"cannot read file: {exc}", file=str(path)))
        return []
    try:
        docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.load_all(text, Loader=PlainLoader))
        docs = [d for d in docs if d is not None]
        for number, doc in enumerate(docs, start=1):
            if _too_big(doc):
                problems.append(
                    Problem(
                        loc=f"document {number}",
                        msg=f"expands to more than {MAX_EXPANDED_VALUES} values (YAML aliases?)",
                        file=str(path),
                    )
                )
                return []
        return docs
    except RecursionError:
        problems.append(Problem(loc="", msg="nested too deeply to read", file=str(path)))
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(loc=f"line {exc.lineno} column {exc.colno}", msg=f"invalid JSON: {exc.msg}", file=str(path))
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(loc=where, msg=f"invalid YAML: {what}", file=str(path)))
    return []
