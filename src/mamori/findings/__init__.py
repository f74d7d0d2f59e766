"""Security findings: one prioritised queue for every scanner's findings, deduplicated, with owners and due dates."""
