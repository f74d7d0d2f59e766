"""Mamori's flagd format check agrees with the published flagd JSON schema on real and broken flag files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from mamori.flags import flagd_format
from tests.support import peers


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft7Validator:
    folder: Path = peers("flags", "flagd-schemas")
    resources = []
    for name in ("flagd.json", "flags.json", "targeting.json"):
        contents = json.loads((folder / name).read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry: Registry[Any] = Registry().with_resources(resources)
    # flagd.json is only `$ref: ./flags.json#/definitions/flagdConfig`; draft-07 ignores `$id` beside `$ref`,
    # so point at the same definition by its absolute URI.
    root = {"$ref": "https://flagd.dev/schema/v0/flags.json#/definitions/flagdConfig"}
    return jsonschema.Draft7Validator(root, registry=registry)


def _testbed_files() -> list[Path]:
    base = peers("flags", "flagd-testbed")
    return [*sorted((base / "flags").glob("*.json")), base / "evaluator" / "flags" / "testkit-flags.json"]


def test_mamori_and_the_schema_agree_on_every_testbed_flag(schema_validator: jsonschema.Draft7Validator) -> None:
    files = _testbed_files()
    assert len(files) >= 10
    verdicts = {"both accept": 0, "both refuse": 0}
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        for key, flag in document["flags"].items():
            single = {"flags": {key: flag}, "$evaluators": document.get("$evaluators", {})}
            schema_ok = not list(schema_validator.iter_errors(single))
            mamori_ok = not flagd_format.schema_problems(single)
            assert schema_ok == mamori_ok, (path.name, key, flagd_format.schema_problems(single))
            verdicts["both accept" if schema_ok else "both refuse"] += 1
    # The testbed deliberately holds schema-invalid edge cases (wrong sem_ver operators, negative weights...).
    assert verdicts["both accept"] > 100
    assert verdicts["both refuse"] >= 10


GOOD_FLAG = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}


def _with(change: dict[str, Any]) -> dict[str, Any]:
    flag = copy.deepcopy(GOOD_FLAG)
    flag.update(change)
    return {"flags": {"f": {k: v for k, v in flag.items() if v is not _DROP}}}


_DROP = object()

BAD_DOCUMENTS = {
    "no flags": {"$evaluators": {}},
    "flags is a string": {"flags": "nope"},
    "state missing": _with({"state": _DROP}),
    "state unknown": _with({"state": "ON"}),
    "variants missing": _with({"variants": _DROP}),
    "variants empty": _with({"variants": {}}),
    "variants of mixed types": _with({"variants": {"on": True, "off": "no"}}),
    "variant value null": _with({"variants": {"on": None}}),
    "variant value array": _with({"variants": {"a": [1], "b": [2]}}),
    "defaultVariant a number": _with({"defaultVariant": 3}),
    "flag metadata nested": _with({"metadata": {"owner": {"team": "x"}}}),
    "targeting a string": _with({"targeting": "on"}),
    "targeting with two operations": _with({"targeting": {"if": [True, "on"], "var": "x"}}),
    "targeting with an unknown operation": _with({"targeting": {"frobnicate": [1, 2]}}),
    "flag set metadata a list": {"flags": {}, "metadata": ["a"]},
    "flag is a list": {"flags": {"f": [1]}},
    "evaluators a list": {"flags": {}, "$evaluators": [1]},
    "sem_ver with a partial version": _with({"targeting": {"sem_ver": [{"var": "v"}, ">", "1.1"]}}),
    "sem_ver with an unknown operator": _with({"targeting": {"sem_ver": [{"var": "v"}, "===", "1.0.0"]}}),
    "fractional with a negative weight": _with({"targeting": {"fractional": [{"var": "k"}, ["on", -5]]}}),
    "fractional with a null bucket key": _with({"targeting": {"fractional": [None, ["on"]]}}),
    "starts_with with one argument": _with({"targeting": {"starts_with": ["abc"]}}),
    "== with three arguments": _with({"targeting": {"if": [{"==": [1, 2, 3]}, "on", "off"]}}),
    "var into an unknown $flagd field": _with({"targeting": {"var": "$flagd.nope"}}),
    "$ref as the whole targeting": _with({"targeting": {"$ref": "x"}}),
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_broken_flag_documents_are_refused_by_both_the_schema_and_mamori(
    name: str, schema_validator: jsonschema.Draft7Validator
) -> None:
    document = BAD_DOCUMENTS[name]
    assert list(schema_validator.iter_errors(document)), f"the flagd schema accepts {name}"
    found = flagd_format.schema_problems(document)
    assert found, f"Mamori accepts {name}"
    assert all(loc.startswith(("flags", "$evaluators", "metadata")) for loc, _ in found)


def test_problems_name_the_flag_and_field() -> None:
    found = flagd_format.schema_problems(_with({"variants": {"on": True, "off": "no"}}))
    assert found == [("flags.f.variants", "all variants of a flag must have one type; found boolean, string")]


def test_semantic_problems_catch_unknown_default_variant_and_ref() -> None:
    document = {
        "flags": {
            "f": {
                "state": "ENABLED",
                "variants": {"a": 1},
                "defaultVariant": "b",
                "targeting": {"if": [{"$ref": "nobody"}, "a", None]},
            }
        },
    }
    assert flagd_format.problems(document) == [
        ("flags.f.defaultVariant", "'b' is not one of the variants (a)"),
        ("flags.f.targeting.if[0]", "$ref 'nobody' names no entry of $evaluators"),
    ]


def test_flags_array_form_normalizes_to_a_map() -> None:
    document = {"flags": [{"key": "f", **GOOD_FLAG}]}
    assert flagd_format.schema_problems(document) == []
    assert flagd_format.normalize(document)["flags"] == {"f": GOOD_FLAG}
