"""The HTTP edge: the API under /api/v1, webhooks, health and metrics, and the dashboard pages."""
