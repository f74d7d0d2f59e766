"""The GameDay kind (mamori.dev/v1): a drill scenario as code, checked by `mamori validate` like any document.

Beyond the spec model, the checks name the field of each mistake: duplicate inject or expectation ids, an
`after` that names no inject, a schedule start without an offset, a scenario without a game master, a
Chaos Toolkit experiment or AWS FIS template file that is missing or is not one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mamori.core.config_files import MAX_CONFIG_FILE_BYTES
from mamori.core.errors import Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, Bundle, Document, KindDef
from mamori.gamedays import chaos, fis
from mamori.gamedays.scenario import GameDaySpec

KIND = "GameDay"


FILES: dict[str, tuple[str, Callable[[Any], None]]] = {
    "chaos": ("experiment", chaos.check_experiment),
    "fis": ("template", fis.check_template),
}
"""Injects that point to a file beside the scenario: the field naming it and the check of its content."""


def _read_file(doc: Document, index: int, part: str, name: Any) -> dict[str, Any]:
    field, check_content = FILES[part]
    loc = f"spec.injects[{index}].{part}.{field}"
    if not isinstance(name, str) or not name or Path(name).is_absolute():
        raise ValidationFailed("bad path", problems=[doc.problem(loc, "must be a path relative to this document")])
    path = (doc.base_dir / name).resolve()
    try:
        if path.stat().st_size > MAX_CONFIG_FILE_BYTES:
            raise ValueError(f"larger than {MAX_CONFIG_FILE_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
        check_content(data)
    except FileNotFoundError:
        raise ValidationFailed("missing", problems=[doc.problem(loc, f"{path}: no such file")]) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(str(exc), problems=[doc.problem(loc, f"{path}: {exc}")]) from None
    return dict(data)


def prepare(doc: Document) -> dict[str, Any]:
    """Read each Chaos Toolkit experiment and AWS FIS template the scenario points to into the spec, so it is
    stored whole (and checked when the scenario is validated)."""
    spec = dict(doc.spec)
    injects = spec.get("injects")
    if not isinstance(injects, list):
        return spec
    out = []
    for index, inject in enumerate(injects):
        for part, (field, _) in FILES.items():
            given = inject.get(part) if isinstance(inject, dict) else None
            if isinstance(given, dict) and field in given and "document" not in given:
                inject = {**inject, part: {**given, "document": _read_file(doc, index, part, given[field])}}  # noqa: PLW2901
        out.append(inject)
    spec["injects"] = out
    return spec


def _check_injects(spec: GameDaySpec, doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, inject in enumerate(spec.injects):
        if inject.id in seen:
            problems.append(doc.problem(f"spec.injects[{i}].id", f"inject id {inject.id!r} is used twice"))
        seen.add(inject.id)
        if inject.at is not None and inject.at > spec.schedule.duration:
            problems.append(doc.problem(f"spec.injects[{i}].at", "fires after the drill's end (schedule.duration)"))
    ids: set[str] = set()
    for i, expectation in enumerate(spec.expectations):
        if expectation.id in ids:
            problems.append(
                doc.problem(f"spec.expectations[{i}].id", f"expectation id {expectation.id!r} is used twice")
            )
        ids.add(expectation.id)
        if expectation.after is not None and expectation.after not in seen:
            problems.append(
                doc.problem(f"spec.expectations[{i}].after", f"no inject {expectation.after!r} in spec.injects")
            )
    return problems


def _check_people_and_schedule(spec: GameDaySpec, doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    users = [p.user for p in spec.participants]
    for i, user in enumerate(users):
        if user in users[:i]:
            problems.append(doc.problem(f"spec.participants[{i}].user", f"{user!r} is listed twice"))
    if not any(p.role == "game-master" for p in spec.participants):
        problems.append(doc.problem("spec.participants", "a drill needs a participant with role game-master"))
    if spec.schedule.start is not None:
        try:
            start = datetime.fromisoformat(spec.schedule.start)
        except ValueError:
            problems.append(doc.problem("spec.schedule.start", "expected an ISO 8601 time like 2026-12-08T10:00:00Z"))
        else:
            if start.tzinfo is None:
                problems.append(doc.problem("spec.schedule.start", "give an offset (Z or +01:00): drills start once"))
    return problems


def check_spec(spec: GameDaySpec, doc: Document) -> list[Problem]:
    """Rules across fields of one scenario, each problem naming its field."""
    return _check_injects(spec, doc) + _check_people_and_schedule(spec, doc)


def check(doc: Document, bundle: Bundle) -> list[Problem]:
    return check_spec(doc.model, doc)


GAME_DAY_KIND = KindDef(
    api_version=MAMORI_API, kind=KIND, spec_model=GameDaySpec, order=600, prepare=prepare, check=check
)

KINDS = [GAME_DAY_KIND]
