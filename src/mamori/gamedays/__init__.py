"""The gamedays domain (being built: see its issue)."""
