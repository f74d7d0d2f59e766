"""The sast domain (being built: see its issue)."""
