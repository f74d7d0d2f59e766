"""Use cases of the sast domain: storing scans, triage, the pull-request gate and queries."""
