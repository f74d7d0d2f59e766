"""SAST: static-analysis results (SARIF) in the pull-request flow, triage, and measured false-positive rates per tool."""
