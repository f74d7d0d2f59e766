"""Delivery and operations metrics (DORA and more) gathered from deploys, CI, PRs, incidents and questions."""
