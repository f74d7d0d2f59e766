"""The flag engine: an OpenFeature flagd `Evaluator` that compiles targeting once per flag-set change.

`FlagEvaluator.set_flags` parses a flagd document, resolves `$evaluators`/`$ref`, compiles every
flag's targeting into a closure and swaps the whole set in atomically (a bad document leaves the
previous set serving). Resolution raises the OpenFeature errors the flagd providers expect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import (
    ErrorCode,
    FlagNotFoundError,
    GeneralError,
    OpenFeatureError,
    ParseError,
    TypeMismatchError,
)
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason

from mamori.flags.jsonlogic import Compiled, Compiler, UnknownOperation
from mamori.flags.operators import READS, SCHEMES, FractionalScheme, compilers, operations

T = TypeVar("T")
Metadata = Mapping[str, float | int | str | bool]
MAX_REF_DEPTH = 32

DATA_ATTRIBUTES, DATA_NO_TIMESTAMP, DATA_FULL = 0, 1, 2
"""Evaluation data a flag's targeting needs: the context attributes as they are; plus `targetingKey` and
`$flagd.flagKey`; or everything (`$flagd.timestamp` too, or rules whose reads are not known at compile time)."""
_EMPTY: dict[str, Any] = {}
_TARGETING_MATCH, _DEFAULT = Reason.TARGETING_MATCH, Reason.DEFAULT
_REASON_TEXT: dict[Reason, str] = {reason: reason.value for reason in Reason}

_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "boolean": ((bool,), "bool"),
    "string": ((str,), "str"),
    "integer": ((int,), "int"),
    "float": ((int, float), "float"),
    "object": ((dict, list), "dict or list"),
}


@dataclass(frozen=True, slots=True)
class CompiledFlag:
    key: str
    enabled: bool
    variants: Mapping[str, Any]
    default_variant: str | None
    targeting: Compiled | None
    metadata: Metadata
    source: Mapping[str, Any]
    types_ok: frozenset[str] = frozenset()
    """Resolution types every variant value satisfies (skips the per-call type check)."""
    data_mode: int = DATA_FULL
    """What the targeting reads of the evaluation data (DATA_ATTRIBUTES, DATA_NO_TIMESTAMP or DATA_FULL)."""
    flagd: Mapping[str, Any] | None = None
    """`{"flagKey": key}`, shared by evaluations of DATA_NO_TIMESTAMP flags (only `fractional` reads it)."""
    default_ok: bool = True
    """defaultVariant is null or names a variant (else using the default is an error, raised when reached)."""
    static_reason: Reason = Reason.STATIC


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolution without a requested type (what OFREP and the CLI return)."""

    key: str
    value: Any
    variant: str | None
    reason: str
    error_code: str | None = None
    error_message: str | None = None
    metadata: Metadata | None = None


def _variant_name(value: Any) -> str | None:
    if type(value) is str and value:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _check_metadata(where: str, metadata: Any) -> dict[str, float | int | str | bool]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ParseError(f"{where}: metadata must be an object")
    for key, value in metadata.items():
        if not isinstance(value, bool | int | float | str):
            raise ParseError(f"{where}: metadata value of {key!r} must be a string, number or boolean")
    return dict(metadata)


def resolve_refs(rule: Any, evaluators: Mapping[str, Any], depth: int = 0) -> Any:
    """Replace `{"$ref": name}` by the named shared rule; unknown names stay (a parse error when reached)."""
    if depth > MAX_REF_DEPTH:
        raise ParseError("$ref nesting is too deep (a cycle between $evaluators?)")
    if isinstance(rule, list):
        return [resolve_refs(item, evaluators, depth) for item in rule]
    if not isinstance(rule, dict):
        return rule
    if len(rule) == 1 and "$ref" in rule and isinstance(rule["$ref"], str) and rule["$ref"] in evaluators:
        return resolve_refs(evaluators[rule["$ref"]], evaluators, depth + 1)
    return {key: resolve_refs(value, evaluators, depth) for key, value in rule.items()}


def compile_flag_set(document: Mapping[str, Any], scheme: FractionalScheme) -> tuple[dict[str, CompiledFlag], Metadata]:
    """Every flag of a flagd document, compiled; raises ParseError on a structural problem."""
    flags = document.get("flags", {})
    if not isinstance(flags, dict):
        raise ParseError("'flags' must be an object of flag key -> flag")
    evaluators = document.get("$evaluators") or {}
    if not isinstance(evaluators, dict):
        raise ParseError("'$evaluators' must be an object")
    set_metadata = _check_metadata("flag set", document.get("metadata"))
    compiler = Compiler(operations(scheme), compilers(scheme), READS)
    compiled: dict[str, CompiledFlag] = {}
    for key, flag in flags.items():
        compiled[key] = _compile_flag(key, flag, evaluators, compiler, set_metadata)
    return compiled, set_metadata


def _compile_flag(
    key: str, flag: Any, evaluators: Mapping[str, Any], compiler: Compiler, set_metadata: Metadata
) -> CompiledFlag:
    if not isinstance(flag, dict):
        raise ParseError(f"flag {key!r}: must be an object")
    state = flag.get("state")
    if state not in ("ENABLED", "DISABLED"):
        raise ParseError(f"flag {key!r}: state must be ENABLED or DISABLED")
    variants = flag.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise ParseError(f"flag {key!r}: variants must be a non-empty object")
    default = flag.get("defaultVariant")
    if default is not None and not isinstance(default, str | bool):
        raise ParseError(f"flag {key!r}: defaultVariant must be a string or null")
    targeting = flag.get("targeting")
    compiled_targeting = None
    data_mode = DATA_FULL
    if targeting:
        if not isinstance(targeting, dict):
            raise ParseError(f"flag {key!r}: targeting must be a JsonLogic object")
        compiler.track()
        compiled_targeting = compiler.compile(resolve_refs(targeting, evaluators))
        data_mode = _data_mode(compiler.reads)
    metadata = {**set_metadata, **_check_metadata(f"flag {key!r}", flag.get("metadata"))}
    types_ok = frozenset(t for t in _TYPES if all(_type_fits(v, t) for v in variants.values()))
    return CompiledFlag(
        key=key,
        enabled=state == "ENABLED",
        variants=variants,
        default_variant=_variant_name(default),
        targeting=compiled_targeting,
        metadata=metadata,
        source=flag,
        types_ok=types_ok,
        data_mode=data_mode,
        flagd={"flagKey": key},
        default_ok=default is None or _variant_name(default) is None or _variant_name(default) in variants,
        static_reason=Reason.STATIC if _variant_name(default) else Reason.DEFAULT,
    )


def _data_mode(reads: set[str] | None) -> int:
    if reads is None or "$flagd" in reads:
        return DATA_FULL
    if "targetingKey" in reads or "$flagd.flagKey" in reads:
        return DATA_NO_TIMESTAMP
    return DATA_ATTRIBUTES


def _type_fits(value: Any, flag_type: str) -> bool:
    if isinstance(value, bool):
        return flag_type == "boolean"
    return flag_type != "boolean" and isinstance(value, _TYPES[flag_type][0])


class FlagEvaluator:
    """Mamori's implementation of the openfeature-flagd-api `Evaluator` protocol."""

    def __init__(self, *, fractional: FractionalScheme = "cbor", clock: Callable[[], float] = time.time) -> None:
        if fractional not in SCHEMES:
            raise ValueError(f"unknown fractional scheme {fractional!r}; expected one of {', '.join(SCHEMES)}")
        self.fractional: FractionalScheme = fractional
        self._clock = clock
        self._lock = threading.Lock()
        self._flags: dict[str, CompiledFlag] = {}
        self._set_metadata: Metadata = {}

    # --- flag set ------------------------------------------------------------------------

    def set_flags(self, flag_configuration: str | dict[str, Any]) -> None:
        self.set_flags_and_get_changed_keys(flag_configuration)

    def set_flags_and_get_changed_keys(self, flag_configuration: str | dict[str, Any]) -> list[str]:
        try:
            document = json.loads(flag_configuration) if isinstance(flag_configuration, str) else flag_configuration
        except json.JSONDecodeError as exc:
            raise ParseError(f"flag configuration is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise ParseError("flag configuration must be an object with 'flags'")
        flags, metadata = compile_flag_set(document, self.fractional)
        with self._lock:
            old = self._flags
            self._flags, self._set_metadata = flags, metadata
        changed = set(flags).symmetric_difference(old)
        changed.update(k for k in set(flags) & set(old) if flags[k].source != old[k].source)
        return sorted(changed)

    def get_flag_set_metadata(self) -> Metadata:
        return dict(self._set_metadata)

    def flag_keys(self) -> list[str]:
        return list(self._flags)

    # --- typed resolution (the Evaluator protocol) ------------------------------------------

    def resolve_boolean_value(
        self, flag_key: str, default_value: bool, ctx: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._typed(flag_key, default_value, ctx, "boolean")

    def resolve_string_value(
        self, flag_key: str, default_value: str, ctx: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._typed(flag_key, default_value, ctx, "string")

    def resolve_integer_value(
        self, flag_key: str, default_value: int, ctx: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._typed(flag_key, default_value, ctx, "integer")

    def resolve_float_value(
        self, flag_key: str, default_value: float, ctx: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        details = self._typed(flag_key, default_value, ctx, "float")
        if isinstance(details.value, int):
            details.value = float(details.value)
        return details

    def resolve_object_value(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        ctx: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._typed(flag_key, default_value, ctx, "object")

    # --- the engine ------------------------------------------------------------------------

    def _typed(self, key: str, default: T, ctx: EvaluationContext | None, flag_type: str) -> FlagResolutionDetails[T]:
        flag = self._flags.get(key)
        variant: str | None
        if flag is None or not flag.enabled or not flag.default_ok:
            flag, variant, reason = self._select(key, ctx)
        else:
            variant, reason = self._choose(flag, key, ctx)
        if variant is None:
            return FlagResolutionDetails(default, None, None, reason, None, flag.metadata)
        value = flag.variants[variant]
        if flag_type not in flag.types_ok and not _type_fits(value, flag_type):
            name = _TYPES[flag_type][1]
            raise TypeMismatchError(f"flag {key!r}: expected {name} but variant {variant!r} is {type(value).__name__}")
        return FlagResolutionDetails(value, None, None, reason, variant, flag.metadata)

    def _choose(self, flag: CompiledFlag, key: str, ctx: EvaluationContext | None) -> tuple[str | None, Reason]:
        """The hot path (an enabled flag with a valid default): the data holds only what the targeting reads."""
        if flag.targeting is None:
            return flag.default_variant, flag.static_reason
        attributes = ctx.attributes if ctx is not None else _EMPTY
        if flag.data_mode == DATA_ATTRIBUTES and type(attributes) is dict:
            data: dict[str, Any] = attributes
        else:
            data = dict(attributes)
            data["$flagd"] = (
                {"flagKey": key, "timestamp": int(self._clock())} if flag.data_mode == DATA_FULL else flag.flagd
            )
            data["targetingKey"] = ctx.targeting_key if ctx is not None else None
        try:
            chosen = flag.targeting(data)
        except UnknownOperation as exc:
            raise ParseError(f"flag {key!r}: invalid targeting: {exc}") from exc
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise GeneralError(f"flag {key!r}: targeting failed: {exc}") from exc
        if chosen is None:
            return flag.default_variant, _DEFAULT
        variant = chosen if type(chosen) is str and chosen else (_variant_name(chosen) or "")
        if flag.variants.get(variant) is None:
            raise GeneralError(f"flag {key!r}: targeting chose variant {variant!r}, which the flag does not define")
        return variant, _TARGETING_MATCH

    def _select(self, key: str, ctx: EvaluationContext | None) -> tuple[CompiledFlag, str | None, Reason]:
        """The flag, the chosen variant (None: the caller's default) and why."""
        flag = self._flags.get(key)
        if flag is None:
            raise FlagNotFoundError(f"flag {key!r} is not in the flag set")
        if not flag.enabled:
            return flag, None, Reason.DISABLED
        if flag.targeting is None:
            return flag, self._default(flag), Reason.STATIC if flag.default_variant else Reason.DEFAULT
        data: dict[str, Any] = dict(ctx.attributes) if ctx is not None else {}
        data["$flagd"] = {"flagKey": key, "timestamp": int(self._clock())}
        data["targetingKey"] = ctx.targeting_key if ctx is not None else None
        variant, reason = self._target(flag, data)
        return flag, variant, reason

    def _target(self, flag: CompiledFlag, data: dict[str, Any]) -> tuple[str | None, Reason]:
        key, targeting = flag.key, flag.targeting
        if targeting is None:
            return self._default(flag), Reason.STATIC
        try:
            chosen = targeting(data)
        except UnknownOperation as exc:
            raise ParseError(f"flag {key!r}: invalid targeting: {exc}") from exc
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise GeneralError(f"flag {key!r}: targeting failed: {exc}") from exc
        if chosen is None:
            return self._default(flag), Reason.DEFAULT
        name = _variant_name(chosen) or ""
        if name not in flag.variants or flag.variants[name] is None:
            raise GeneralError(f"flag {key!r}: targeting chose variant {name!r}, which the flag does not define")
        return name, Reason.TARGETING_MATCH

    @staticmethod
    def _default(flag: CompiledFlag) -> str | None:
        if flag.default_variant is not None and flag.default_variant not in flag.variants:
            raise GeneralError(f"flag {flag.key!r}: defaultVariant {flag.default_variant!r} is not a variant")
        return flag.default_variant

    def evaluate(self, key: str, ctx: EvaluationContext | None = None) -> Resolution:
        """Untyped resolution that never raises: errors come back as `error_code` (OFREP, CLI)."""
        try:
            flag = self._flags.get(key)
            if flag is not None and flag.enabled and flag.default_ok:
                variant, reason = self._choose(flag, key, ctx)
            else:
                flag, variant, reason = self._select(key, ctx)
        except OpenFeatureError as exc:
            code = exc.error_code.value if isinstance(exc.error_code, ErrorCode) else str(exc.error_code)
            return Resolution(
                key=key,
                value=None,
                variant=None,
                reason=Reason.ERROR.value,
                error_code=code,
                error_message=exc.error_message,
            )
        value = flag.variants[variant] if variant is not None else None
        return Resolution(key, value, variant, _REASON_TEXT[reason], None, None, flag.metadata)

    def is_disabled(self, key: str) -> bool:
        flag = self._flags.get(key)
        return flag is not None and not flag.enabled
