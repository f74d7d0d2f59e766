"""Service level objectives: per-user-story SLOs, SLI buckets, error budgets, burn-rate alerts, error-budget policies."""
