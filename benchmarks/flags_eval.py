"""In-process flag evaluations per second: Mamori vs openfeature-flagd-core, GrowthBook, Unleash (Yggdrasil), Flagsmith.

Three equivalent flags per engine: a static boolean, a rule on the email attribute, a 30% rollout
sticky per user id; the same 2,000 contexts for every engine, in one process.

Run: .venv/bin/python -m benchmarks.flags_eval [ROUNDS]
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

from growthbook import GrowthBook
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from mamori.flags import FlagEvaluator

USERS = [(f"user-{i}", f"u{i}@{'jobs.example' if i % 2 else 'else.example'}") for i in range(2000)]
FLAGD = {
    "flags": {
        "static": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
        "targeted": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"if": [{"ends_with": [{"var": "email"}, "@jobs.example"]}, "on", None]},
        },
        "rollout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", 30], ["off", 70]]},
        },
    }
}
KEYS = ("static", "targeted", "rollout")
Runner = Callable[[], int]


def flagd_style(engine: FlagEvaluator | FlagdCore) -> Runner:
    engine.set_flags(json.loads(json.dumps(FLAGD)))
    contexts = [EvaluationContext(targeting_key=u, attributes={"email": e}) for u, e in USERS]

    def run() -> int:
        on = 0
        for ctx in contexts:
            for key in KEYS:
                on += engine.resolve_boolean_value(key, False, ctx).value
        return on

    return run


def growthbook() -> Runner:
    features = {
        "static": {"defaultValue": True},
        "targeted": {
            "defaultValue": False,
            "rules": [{"condition": {"email": {"$regex": "@jobs\\.example$"}}, "force": True}],
        },
        "rollout": {"defaultValue": False, "rules": [{"force": True, "coverage": 0.3, "hashAttribute": "id"}]},
    }
    gb = GrowthBook(features=features)

    def run() -> int:
        on = 0
        for user, email in USERS:
            gb.set_attributes({"id": user, "email": email})
            for key in KEYS:
                on += gb.is_on(key)
        return on

    return run


def unleash() -> Runner:
    from yggdrasil_engine.engine import UnleashEngine

    def toggle(name: str, strategy: dict[str, object]) -> dict[str, object]:
        return {"name": name, "enabled": True, "strategies": [strategy], "variants": []}

    state = {
        "version": 2,
        "features": [
            toggle("static", {"name": "default", "parameters": {}}),
            toggle(
                "targeted",
                {
                    "name": "default",
                    "parameters": {},
                    "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@jobs.example"]}],
                },
            ),
            toggle(
                "rollout",
                {
                    "name": "flexibleRollout",
                    "parameters": {"rollout": "30", "stickiness": "userId", "groupId": "rollout"},
                },
            ),
        ],
    }
    engine = UnleashEngine()
    engine.take_state(json.dumps(state))

    def run() -> int:
        on = 0
        for user, email in USERS:
            ctx = {"userId": user, "properties": {"email": email}}
            for key in KEYS:
                on += engine.is_enabled(key, ctx).is_enabled
        return on

    return run


def flagsmith() -> Runner:
    from flag_engine.engine import get_evaluation_result

    def feature(name: str, enabled: bool) -> dict[str, object]:
        return {"key": name, "name": name, "enabled": enabled, "value": None}

    base = {
        "environment": {"key": "env", "name": "bench"},
        "features": {k: feature(k, k == "static") for k in KEYS},
        "segments": {
            "staff": {
                "key": "staff",
                "name": "staff",
                "rules": [
                    {
                        "type": "ALL",
                        "conditions": [{"property": "email", "operator": "REGEX", "value": ".*@jobs\\.example$"}],
                    }
                ],
                "overrides": [feature("targeted", True)],
            },
            "thirty": {
                "key": "thirty",
                "name": "thirty",
                "rules": [
                    {"type": "ALL", "conditions": [{"property": "", "operator": "PERCENTAGE_SPLIT", "value": "30"}]}
                ],
                "overrides": [feature("rollout", True)],
            },
        },
    }

    def run() -> int:
        on = 0
        for user, email in USERS:
            ctx = {**base, "identity": {"identifier": user, "key": user, "traits": {"email": email}}}
            flags = get_evaluation_result(ctx)["flags"]  # type: ignore[arg-type]
            on += sum(1 for key in KEYS if flags[key]["enabled"])
        return on

    return run


def measure(engines: list[tuple[str, Runner]], rounds: int) -> list[tuple[str, float, int]]:
    """Best of `rounds` per engine, the engines interleaved within each round so that load from other
    processes on the machine hits every engine alike (it moves the absolute numbers, less the ratios)."""
    best = {name: float("inf") for name, _ in engines}
    on = {name: runner() for name, runner in engines}  # warm-up
    for _ in range(rounds):
        for name, runner in engines:
            start = time.perf_counter()
            on[name] = runner()
            best[name] = min(best[name], time.perf_counter() - start)
    return [(name, len(USERS) * len(KEYS) / best[name], on[name]) for name, _ in engines]


def main() -> None:
    logging.disable(logging.CRITICAL)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    engines: list[tuple[str, Runner]] = [
        ("mamori FlagEvaluator (cbor)", flagd_style(FlagEvaluator(fractional="cbor"))),
        ("mamori FlagEvaluator (legacy)", flagd_style(FlagEvaluator(fractional="legacy"))),
        ("openfeature-flagd-core 2.0", flagd_style(FlagdCore())),
        ("growthbook 4.0", growthbook()),
        ("UnleashClient engine (yggdrasil 2.0)", unleash()),
        ("flagsmith-flag-engine 11.1", flagsmith()),
    ]
    results = measure(engines, rounds)
    print(f"| engine | evaluations/s | flags on (of {len(USERS) * len(KEYS)}) |")
    print("|---|---:|---:|")
    for label, rate, on in results:
        print(f"| {label} | {rate:,.0f} | {on} |")
    peers = max(rate for label, rate, _ in results if not label.startswith("mamori"))
    for label, rate, _ in results[:2]:
        print(f"{label}: {rate / peers:.2f}x the fastest peer")


if __name__ == "__main__":
    main()
