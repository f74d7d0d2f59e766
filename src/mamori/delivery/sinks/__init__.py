"""Where the figures go: samples, Prometheus text, Datadog series and events, OTLP/HTTP JSON (pure payload
builders; the sending is in service/export.py)."""
