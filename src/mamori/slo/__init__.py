"""Service level objectives: per-user-story SLOs, SLI buckets, error budgets, burn alerts, error-budget policies."""
