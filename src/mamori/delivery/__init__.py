"""The delivery domain (being built: see its issue)."""
