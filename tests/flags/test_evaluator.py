"""FlagEvaluator behaviour beyond the testbed: atomic flag-set swaps, changed keys, injected clock, untyped results."""

from __future__ import annotations

from typing import Any

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


# --- the fast paths (evaluation data built only as far as the targeting reads it) ---------------------


def _rules(**targeting: object) -> dict[str, Any]:
    return {
        "flags": {
            key: {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": rule,
            }
            for key, rule in targeting.items()
        }
    }


def test_fast_paths_classify_what_each_targeting_reads() -> None:
    from mamori.flags.evaluator import DATA_ATTRIBUTES, DATA_FULL, DATA_NO_TIMESTAMP, compile_flag_set

    flags, _ = compile_flag_set(
        _rules(
            attrs={"if": [{"ends_with": [{"var": "email"}, "@x.example"]}, "on", "off"]},
            rollout={"fractional": [["on", 30], ["off", 70]]},
            stamp={"if": [{">": [{"var": "$flagd.timestamp"}, 0]}, "on", "off"]},
            key={"if": [{"==": [{"var": "targetingKey"}, "u1"]}, "on", "off"]},
            dynamic={"if": [{"var": [{"cat": ["e", "mail"]}]}, "on", "off"]},
            missing={"if": [{"missing": ["email"]}, "off", "on"]},
        ),
        "cbor",
    )
    modes = {key: flag.data_mode for key, flag in flags.items()}
    assert modes == {
        "attrs": DATA_ATTRIBUTES,
        "rollout": DATA_NO_TIMESTAMP,
        "stamp": DATA_FULL,
        "key": DATA_NO_TIMESTAMP,
        "dynamic": DATA_FULL,
        "missing": DATA_FULL,
    }


def test_fast_paths_give_the_same_answers_as_the_full_evaluation_data() -> None:
    rules = _rules(
        attrs={"if": [{"ends_with": [{"var": "email"}, "@x.example"]}, "on", "off"]},
        key={"if": [{"==": [{"var": "targetingKey"}, "u1"]}, "on", "off"]},
        flagkey={"if": [{"==": [{"var": "$flagd.flagKey"}, "flagkey"]}, "on", "off"]},
        dynamic={"if": [{"var": [{"cat": ["e", "mail"]}]}, "on", "off"]},
        nonstring={"if": [{"ends_with": [{"var": "n"}, "1"]}, "on", "off"]},
    )
    evaluator = FlagEvaluator()
    evaluator.set_flags(rules)
    attributes: dict[str, Any] = {
        "email": "a@x.example",
        "n": 1,
        "targetingKey": "spoofed",
        "$flagd": {"flagKey": "spoofed"},
    }
    ctx = EvaluationContext(targeting_key="u1", attributes=attributes)
    got = {
        key: (r.value, r.reason) for key in rules["flags"] for r in [evaluator.resolve_boolean_value(key, False, ctx)]
    }
    assert got == {
        "attrs": (True, "TARGETING_MATCH"),
        "key": (True, "TARGETING_MATCH"),
        "flagkey": (True, "TARGETING_MATCH"),
        "dynamic": (True, "TARGETING_MATCH"),
        "nonstring": (False, "TARGETING_MATCH"),
    }
    # The caller's attributes are never changed by an evaluation.
    assert attributes == {"email": "a@x.example", "n": 1, "targetingKey": "spoofed", "$flagd": {"flagKey": "spoofed"}}
    assert evaluator.resolve_boolean_value("attrs", False, None).value is False


@pytest.mark.parametrize("targeting_key", ["u", "x" * 23, "y" * 24, "z" * 255, "w" * 256, "ü" * 40, "x" * 70000])
def test_hand_encoded_rollout_key_buckets_like_cbor2(targeting_key: str) -> None:
    import cbor2
    import mmh3

    evaluator = FlagEvaluator(fractional="cbor")
    evaluator.set_flags(_rules(rollout={"fractional": [["on", 50], ["off", 50]]}))
    expected_hash = mmh3.hash(cbor2.dumps(["rollout", targeting_key], canonical=True), signed=False)
    expected = "on" if (expected_hash * 100) >> 32 < 50 else "off"
    result = evaluator.resolve_boolean_value("rollout", False, EvaluationContext(targeting_key=targeting_key))
    assert result.variant == expected
