"""Readers of what other tools write (GitHub payloads, JUnit, coverage, BuildKit, code counts, Slack and Jira):
bytes or documents in, typed values out, no I/O."""
