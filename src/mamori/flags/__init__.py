"""Feature flags: flagd-format flag sets, the evaluation engine, OFREP, scheduled changes and guarded rollouts."""

from mamori.flags.evaluator import FlagEvaluator

__all__ = ["FlagEvaluator"]
