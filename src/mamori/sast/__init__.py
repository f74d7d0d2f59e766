"""SAST: static-analysis results (SARIF) in the pull-request flow, triage, false-positive rates per tool."""
