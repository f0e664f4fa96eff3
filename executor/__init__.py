"""Webhook signal executor: chart alerts in, venue actions out, through Redis and RQ."""
