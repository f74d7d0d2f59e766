"""Reading OSV records from files: a directory tree of JSON files or OSV's per-ecosystem zip exports."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mamori.vulns import osv
from mamori.vulns.bulk import collector_paused


@dataclass
class LoadResult:
    advisories: list[osv.Advisory] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    unchanged: int = 0


def _documents(name: str, payload: bytes) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise osv.InvalidRecord(f"{name}: not valid JSON ({exc})") from None
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield f"{name}[{i}]", item
    else:
        yield name, data


def _raw_files(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".json") and not info.is_dir():
                    yield f"{path}!{info.filename}", archive.read(info)
    elif path.is_file():
        yield str(path), path.read_bytes()
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and (child.suffix == ".json" or zipfile.is_zipfile(child)):
                yield from _raw_files(child)
    else:
        raise FileNotFoundError(f"{path}: no such file or directory")


def load(path: Path, *, known: Mapping[str, datetime] | None = None) -> LoadResult:
    """Every valid record under `path`; invalid ones become errors naming file and field, the rest still load.

    With `known` (id -> modified already stored), records not modified since are counted as unchanged and skipped.
    """
    result = LoadResult()
    with collector_paused():
        _load_into(result, path, known or {})
    return result


def _load_into(result: LoadResult, path: Path, known: Mapping[str, datetime]) -> None:
    for name, payload in _raw_files(path):
        try:
            documents = list(_documents(name, payload))
        except osv.InvalidRecord as exc:
            result.errors.append(str(exc))
            continue
        for where, data in documents:
            try:
                adv = osv.parse_record(data, source=where)
            except osv.InvalidRecord as exc:
                result.errors.append(str(exc))
                continue
            seen = known.get(adv.id)
            if seen is not None and adv.modified <= seen:
                result.unchanged += 1
            elif adv.withdrawn is not None:
                result.withdrawn.append(adv.id)
            else:
                result.advisories.append(adv)
