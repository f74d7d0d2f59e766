"""Vulnerability and vendor-incident watch: inventory, OSV matching, prioritisation, triage and VEX."""
