"""Clients for the outside world that several domains talk to: Slack, email, webhooks, Jira and GitHub.

Like `core`, this package imports nothing else from Mamori but `core`, so every domain may use
it. Each client raises `DeliveryError`; its `permanent` flag says whether retrying can help, so
that a durable job either retries with backoff or fails at once.
"""

from mamori.integrations.errors import DeliveryError

__all__ = ["DeliveryError"]
