"""Prometheus metrics: counted in Redis by every process (``store``), declared once (``catalogue``), exposed
by the web process at ``GET /metrics`` (``exposition``)."""
