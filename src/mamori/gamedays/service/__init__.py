"""Game day use cases: drills and their injects (`drills`), their timeline (`entries`), reactions to other
domains' events (`reactions`) and scores, reports and trends (`reports`)."""
