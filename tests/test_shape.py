"""The tree keeps one shape: every domain has the same roles under the same names (ADR 11).

A domain added to `mamori.wiring.DOMAIN_PLUGINS` is checked the moment it is registered, so the shape
stays true as domains are added.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import mamori
from mamori.wiring import DOMAIN_PLUGINS

SRC = Path(mamori.__file__).resolve().parent
ROLES = ("models", "schemas", "kinds", "events", "service", "jobs", "slots", "api", "pages", "cli", "plugin", "demo")
"""Every domain has each of these, as `<role>.py` or a `<role>/` package, at its top or in a sub-area."""
LEGACY_NAMES = ("views", "slot", "specs", "config", "flagset")
"""Names the roles used to hide under; a module of one of these names in a domain is a role misfiled."""
MAX_LINES = 450
DOMAINS = sorted(make.__module__.split(".")[1] for make in DOMAIN_PLUGINS)


def _has(folder: Path, role: str) -> bool:
    return (folder / f"{role}.py").is_file() or (folder / role / "__init__.py").is_file()


def _sub_areas(domain: Path) -> list[Path]:
    """Sub-packages that hold use cases of their own (a `service`): the domain's sub-areas."""
    return sorted(p for p in domain.iterdir() if p.is_dir() and (p / "__init__.py").is_file() and _has(p, "service"))


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def test_the_domains_are_the_registered_plugins() -> None:
    assert {"slo", "incidents", "flags", "vulns"} <= set(DOMAINS)


@pytest.mark.parametrize("name", DOMAINS)
def test_each_domain_has_every_role(name: str) -> None:
    domain = SRC / name
    places = [domain, *_sub_areas(domain)]
    missing = [role for role in ROLES if not any(_has(place, role) for place in places)]
    assert not missing, f"mamori.{name} lacks {missing} (as a module or package, at its top or in a sub-area)"
    assert (domain / "plugin.py").is_file(), f"mamori.{name}: plugin.py stays at the domain's top"


@pytest.mark.parametrize("name", DOMAINS)
def test_no_domain_files_a_role_under_an_old_name(name: str) -> None:
    misfiled = [str(p.relative_to(SRC)) for p in _modules(SRC / name) if p.stem in LEGACY_NAMES]
    assert not misfiled, f"rename these to their role (kinds, slots, service, ...): {misfiled}"


@pytest.mark.parametrize("name", DOMAINS)
def test_plugin_parts_come_from_their_role_modules(name: str) -> None:
    made = importlib.import_module(f"mamori.{name}.plugin").plugin()
    wrong: list[str] = [f"job {kind}: untyped (list a JobKind in jobs.JOBS)" for kind in made.job_handlers]
    handlers: dict[str, object] = {**made.job_handlers, **{job.kind: job.handler for job in made.jobs}}
    for kind, handler in handlers.items():
        if ".jobs" not in f"{handler.__module__}.":
            wrong.append(f"job {kind}: {handler.__module__}")
    for slot in made.slots:
        if ".slots" not in f"{slot.render.__module__}.":
            wrong.append(f"slot {slot.key}: {slot.render.__module__}")
    kinds_modules = [m for m in _modules(SRC / name) if m.stem == "kinds" or m.parent.name == "kinds"]
    declared: set[int] = set()
    for path in kinds_modules:
        dotted = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        declared.update(id(k) for k in getattr(importlib.import_module(dotted), "KINDS", ()))
    wrong.extend(f"kind {k.kind}: not listed in a kinds module's KINDS" for k in made.kinds if id(k) not in declared)
    assert not wrong, f"mamori.{name}: {wrong}"


@pytest.mark.parametrize("name", DOMAINS)
def test_every_module_opens_with_what_it_is_for(name: str) -> None:
    undocumented = [
        str(p.relative_to(SRC)) for p in _modules(SRC / name) if ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert not undocumented, f"each module opens with a line saying what it is for: {undocumented}"


def test_modules_are_split_by_idea_before_they_grow_long() -> None:
    long = {str(p.relative_to(SRC)): n for p in _modules(SRC) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules by idea (over {MAX_LINES} lines): {long}"
