"""Coverage reports: Cobertura XML, LCOV tracefiles, coverage.py JSON and JaCoCo XML, read into the same
per-file line and branch counts (pure; bytes in). One measurement written in several formats gives the same
counts (tested on gcovr's golden files).

Counting rules, the same for every format: a line is valid when the report lists it and covered when its
hit count is above zero; a branch is valid when the report lists it and covered when it was taken (LCOV's
`-`, a branch whose block never ran, is valid and not covered).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXml

FORMATS = ("cobertura", "lcov", "coveragepy", "jacoco")
CONDITION = re.compile(r"\((\d+)/(\d+)\)")


class CoverageError(ValueError):
    """The report cannot be read; the message says where."""


@dataclass
class FileCoverage:
    lines_valid: int = 0
    lines_covered: int = 0
    branches_valid: int = 0
    branches_covered: int = 0


@dataclass
class Coverage:
    format: str
    files: dict[str, FileCoverage] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files.values())

    @property
    def lines_valid(self) -> int:
        return self._sum("lines_valid")

    @property
    def lines_covered(self) -> int:
        return self._sum("lines_covered")

    @property
    def branches_valid(self) -> int:
        return self._sum("branches_valid")

    @property
    def branches_covered(self) -> int:
        return self._sum("branches_covered")

    @property
    def line_rate(self) -> float | None:
        return self.lines_covered / self.lines_valid if self.lines_valid else None


def detect(data: bytes) -> str:
    """The format of a report from its first bytes."""
    head = data[:2048].lstrip()
    if head.startswith(b"{"):
        return "coveragepy"
    if head.startswith(b"<"):
        return "jacoco" if b"<report" in head else "cobertura"
    if re.search(rb"^(TN|SF):", head, re.MULTILINE):
        return "lcov"
    raise CoverageError("not a coverage report Mamori reads (Cobertura, LCOV, coverage.py JSON, JaCoCo)")


def parse(data: bytes, fmt: str | None = None) -> Coverage:
    fmt = fmt or detect(data)
    readers = {"cobertura": cobertura, "lcov": lcov, "coveragepy": coveragepy, "jacoco": jacoco}
    if fmt not in readers:
        raise CoverageError(f"unknown coverage format {fmt!r}; use one of {', '.join(FORMATS)}")
    return readers[fmt](data)


def _xml(data: bytes, root_tag: str) -> Element:
    try:
        root: Element = SafeXml.fromstring(
            data, forbid_dtd=False
        )  # Cobertura and JaCoCo name their DTD (never fetched)
    except SafeXml.ParseError as exc:
        line, column = exc.position
        raise CoverageError(f"not well-formed XML at line {line}, column {column}") from None
    except DefusedXmlException as exc:
        raise CoverageError(f"refused: {exc}") from None
    if root.tag != root_tag:
        raise CoverageError(f"the root element is <{root.tag}>, expected <{root_tag}>")
    return root


def _int(element: Element, name: str, where: str) -> int:
    value = element.get(name)
    try:
        return int(value or 0)
    except ValueError:
        raise CoverageError(f"{where}: {name}={value!r} is not a whole number") from None


def cobertura(data: bytes) -> Coverage:
    root = _xml(data, "coverage")
    sources = [s.text.strip() for s in root.iter("source") if s.text and s.text.strip()]
    prefix = sources[0] if len(sources) == 1 else ""
    out = Coverage("cobertura")
    for cls in root.iter("class"):
        name = cls.get("filename") or cls.get("name") or ""
        path = str(PurePosixPath(prefix) / name) if prefix and not name.startswith("/") else name
        file = out.files.setdefault(path, FileCoverage())
        seen: set[int] = set()
        lines = cls.find("lines")
        for line in lines.iter("line") if lines is not None else ():
            where = f"class {name!r} line {line.get('number')}"
            number = _int(line, "number", where)
            if number in seen:
                continue  # a class lists a line once; methods repeat it
            seen.add(number)
            file.lines_valid += 1
            file.lines_covered += 1 if _int(line, "hits", where) > 0 else 0
            if line.get("branch") == "true" and (match := CONDITION.search(line.get("condition-coverage", ""))):
                file.branches_covered += int(match.group(1))
                file.branches_valid += int(match.group(2))
    return out


def lcov(data: bytes) -> Coverage:
    out = Coverage("lcov")
    file: FileCoverage | None = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CoverageError("an LCOV tracefile must be UTF-8 text") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        key, _, value = line.partition(":")
        if key == "SF":
            file = out.files.setdefault(value, FileCoverage())
        elif key == "end_of_record":
            file = None
        elif key in ("DA", "BRDA"):
            if file is None:
                raise CoverageError(f"line {number}: {key} outside a record (no SF: before it)")
            parts = value.split(",")
            try:
                if key == "DA":
                    file.lines_valid += 1
                    file.lines_covered += 1 if int(parts[1]) > 0 else 0
                else:
                    file.branches_valid += 1
                    file.branches_covered += 1 if parts[3] not in ("-", "0") else 0
            except (IndexError, ValueError):
                raise CoverageError(f"line {number}: {line!r} is not a valid {key} entry") from None
    return out


def coveragepy(data: bytes) -> Coverage:
    """coverage.py's `coverage json` report (its per-file `summary` blocks)."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CoverageError(f"not JSON: {exc}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict):
        raise CoverageError("files: expected an object of paths (is this `coverage json` output?)")
    out = Coverage("coveragepy")
    for path, entry in files.items():
        summary = entry.get("summary") if isinstance(entry, dict) else None
        if not isinstance(summary, dict):
            raise CoverageError(f"files.{path}.summary: expected an object")
        try:
            out.files[path] = FileCoverage(
                lines_valid=int(summary["num_statements"]),
                lines_covered=int(summary["covered_lines"]),
                branches_valid=int(summary.get("num_branches", 0)),
                branches_covered=int(summary.get("covered_branches", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CoverageError(f"files.{path}.summary: missing or bad {exc}") from None
    return out


def jacoco(data: bytes) -> Coverage:
    root = _xml(data, "report")
    out = Coverage("jacoco")
    for package in root.iter("package"):
        name = package.get("name") or ""
        folder = name if "/" in name else name.replace(".", "/")
        for source in package.findall("sourcefile"):
            path = f"{folder}/{source.get('name')}" if folder else str(source.get("name"))
            file = out.files.setdefault(path, FileCoverage())
            counters = {c.get("type"): c for c in source.findall("counter")}
            if "LINE" in counters:  # JaCoCo's own per-file totals, when present, are authoritative
                where = f"sourcefile {path!r} LINE counter"
                file.lines_covered = _int(counters["LINE"], "covered", where)
                file.lines_valid = file.lines_covered + _int(counters["LINE"], "missed", where)
                branch = counters.get("BRANCH")
                if branch is not None:
                    file.branches_covered = _int(branch, "covered", where)
                    file.branches_valid = file.branches_covered + _int(branch, "missed", where)
                continue
            for line in source.findall("line"):
                where = f"sourcefile {path!r} line {line.get('nr')}"
                file.lines_valid += 1
                file.lines_covered += 1 if _int(line, "ci", where) > 0 or _int(line, "cb", where) > 0 else 0
                file.branches_valid += _int(line, "mb", where) + _int(line, "cb", where)
                file.branches_covered += _int(line, "cb", where)
    return out
