"""Security findings: one prioritised queue over every scanner and watch, with one triage workflow."""
