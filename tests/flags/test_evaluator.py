"""FlagEvaluator behaviour beyond the testbed: atomic flag-set swaps, changed keys, injected clock, untyped results."""

from __future__ import annotations

import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ParseError

from mamori.flags import FlagEvaluator

FLAGS = {
    "flags": {
        "promo": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"if": [{">": [{"var": "$flagd.timestamp"}, 1_800_000_000]}, "on", None]},
        },
        "theme": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a"},
    },
    "metadata": {"flagSetId": "web"},
}


def test_a_bad_flag_set_is_refused_and_the_previous_one_keeps_serving() -> None:
    evaluator = FlagEvaluator()
    evaluator.set_flags(FLAGS)
    with pytest.raises(ParseError, match="flag 'theme': state must be ENABLED or DISABLED"):
        evaluator.set_flags({"flags": {"theme": {"state": "maybe", "variants": {"a": 1}}}})
    assert evaluator.resolve_string_value("theme", "x").value == "a"


def test_changed_keys_name_added_removed_and_edited_flags() -> None:
    evaluator = FlagEvaluator()
    assert evaluator.set_flags_and_get_changed_keys(FLAGS) == ["promo", "theme"]
    edited = {
        "flags": {
            "theme": {**FLAGS["flags"]["theme"], "defaultVariant": "b"},  # type: ignore[dict-item]
            "new": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "x"},
        }
    }
    assert evaluator.set_flags_and_get_changed_keys(edited) == ["new", "promo", "theme"]


def test_flagd_timestamp_comes_from_the_injected_clock() -> None:
    now = [1_700_000_000.0]
    evaluator = FlagEvaluator(clock=lambda: now[0])
    evaluator.set_flags(FLAGS)
    assert evaluator.resolve_boolean_value("promo", True).reason == "DEFAULT"
    now[0] = 1_900_000_000.0
    details = evaluator.resolve_boolean_value("promo", False)
    assert (details.value, details.variant, details.reason) == (True, "on", "TARGETING_MATCH")
    assert details.flag_metadata == {"flagSetId": "web"}


def test_untyped_evaluate_reports_errors_as_codes_instead_of_raising() -> None:
    evaluator = FlagEvaluator()
    evaluator.set_flags(
        {"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"nope": []}}}}
    )
    result = evaluator.evaluate("f", EvaluationContext())
    assert (result.reason, result.error_code) == ("ERROR", "PARSE_ERROR")
    assert evaluator.evaluate("missing").error_code == "FLAG_NOT_FOUND"


def test_the_two_fractional_schemes_bucket_differently_and_stick_per_key() -> None:
    doc = {
        "flags": {
            "f": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": {"fractional": [["on", 50], ["off", 50]]},
            }
        }
    }
    results = {}
    for scheme in ("cbor", "legacy"):
        evaluator = FlagEvaluator(fractional=scheme)  # type: ignore[arg-type]
        evaluator.set_flags(doc)
        results[scheme] = [
            evaluator.resolve_boolean_value("f", False, EvaluationContext(f"user-{i}")).value for i in range(400)
        ]
        again = [evaluator.resolve_boolean_value("f", False, EvaluationContext(f"user-{i}")).value for i in range(400)]
        assert again == results[scheme]
        assert 150 < sum(results[scheme]) < 250
    assert results["cbor"] != results["legacy"]


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fractional scheme 'float'"):
        FlagEvaluator(fractional="float")  # type: ignore[arg-type]
