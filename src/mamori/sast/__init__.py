"""SAST in the pull-request flow: scanner intake, finding identity, triage memory, PR gates, tool scorecards."""
