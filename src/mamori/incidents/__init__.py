"""Incidents and on-call: alert intake, routing, schedules, escalation, notifications, incidents, postmortems."""
