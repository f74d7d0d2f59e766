"""Use cases of the vulns domain, the code that owns its transactions: finding lifecycle and triage
(`findings`), read models for pages and the API (`queries`), VEX import and export (`vex`)."""
