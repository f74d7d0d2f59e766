"""Incident response: incidents, roles, status updates, postmortems and their action items, metrics."""
