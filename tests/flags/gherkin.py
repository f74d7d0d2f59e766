"""A small Gherkin reader for the flagd-testbed evaluator features: scenarios, outlines, examples, tables, tags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Step:
    text: str
    table: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Case:
    """One runnable scenario (an outline expanded with one example row)."""

    feature: str
    name: str
    tags: set[str]
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.feature}: {self.name}"


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace('\\"', '"') for c in re.split(r"(?<!\\)\|", inner)]


def _tags(line: str) -> set[str]:
    return {t[1:] for t in line.split() if t.startswith("@")}


@dataclass
class _Block:
    name: str
    tags: set[str]
    steps: list[Step] = field(default_factory=list)
    examples: list[tuple[set[str], list[dict[str, str]]]] = field(default_factory=list)


def _rows(table: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]] if table else []


def parse(path: Path) -> list[Case]:
    feature_tags: set[str] = set()
    pending_tags: set[str] = set()
    feature = path.stem
    background: list[Step] = []
    blocks: list[_Block] = []
    current: _Block | None = None
    in_background = False
    table: list[list[str]] = []
    table_target: str = ""

    def flush_table() -> None:
        nonlocal table
        if not table:
            return
        if table_target == "examples" and current is not None:
            current.examples[-1] = (current.examples[-1][0], _rows(table))
        else:
            steps = background if in_background else (current.steps if current else [])
            steps[-1].table = _rows(table)
        table = []

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("|"):
            table.append(_cells(line))
            continue
        flush_table()
        if line.startswith("@"):
            pending_tags |= _tags(line)
        elif line.startswith("Feature:"):
            feature_tags, pending_tags = pending_tags, set()
            feature = line.split(":", 1)[1].strip()
        elif line.startswith("Background:"):
            in_background = True
        elif line.startswith(("Scenario Outline:", "Scenario:")):
            in_background = False
            current = _Block(name=line.split(":", 1)[1].strip(), tags=feature_tags | pending_tags)
            pending_tags = set()
            blocks.append(current)
        elif line.startswith("Examples"):
            assert current is not None
            current.examples.append((pending_tags, []))
            pending_tags = set()
            table_target = "examples"
        else:
            table_target = "step"
            step = Step(text=re.sub(r"^(Given|When|Then|And|But)\s+", "", line))
            (background if in_background else current.steps if current else background).append(step)
    flush_table()
    return _expand(feature, background, blocks)


def _expand(feature: str, background: list[Step], blocks: list[_Block]) -> list[Case]:
    cases: list[Case] = []
    for block in blocks:
        if not block.examples:
            cases.append(Case(feature, block.name, block.tags, background + block.steps))
            continue
        for ex_tags, rows in block.examples:
            for index, row in enumerate(rows):
                steps = [Step(text=_fill(s.text, row), table=s.table) for s in background + block.steps]
                cases.append(Case(feature, f"{block.name} [{index + 1}: {row}]", block.tags | ex_tags, steps))
    return cases


def _fill(text: str, row: dict[str, str]) -> str:
    for key, value in row.items():
        text = text.replace(f"<{key}>", value)
    return text
