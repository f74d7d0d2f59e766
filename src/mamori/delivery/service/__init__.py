"""Use cases of the delivery domain: intake (webhooks, generic records, reports), measures, incident notes."""
