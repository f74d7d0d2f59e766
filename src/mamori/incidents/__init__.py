"""Incidents and on-call: alert intake, routing and severity, schedules, escalation, notifications, incidents, postmortems."""
