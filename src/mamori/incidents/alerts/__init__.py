"""Alerts: intake from every source, routing with Alertmanager matchers, grouping, silences and maintenance."""
