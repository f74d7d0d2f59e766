"""Delivery and ops metrics: deploys, CI runs, pull requests and incidents gathered into DORA and more."""
