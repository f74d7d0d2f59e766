"""Mamori: one self-hosted place for a product team's reliability and security work."""

__version__ = "0.1.0"
