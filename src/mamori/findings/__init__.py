"""The findings domain (being built: see its issue)."""
