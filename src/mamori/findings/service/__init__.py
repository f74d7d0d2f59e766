"""Use cases of the findings domain, the code that owns its transactions: imports of tools' documents
(`imports`, merging a finding from its sources in `merge`), triage and suppression (`triage`), the OSV
findings of the vulns domain (`osv`), and read models for pages and the API (`queries`)."""
