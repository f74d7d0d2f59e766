"""Feature flags: flagd-format flag sets, the evaluation engine, OFREP, scheduled changes and guarded rollouts."""
