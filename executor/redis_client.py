"""One way to open Redis for the whole product."""
from __future__ import annotations

from redis import Redis


def connect(url: str) -> Redis:
    """A client for RQ (bytes, not decoded) with short timeouts, so a dead Redis is a quick 503.

    ``rediss://`` on Heroku uses a self-signed certificate: encryption stays on,
    certificate verification is off.
    """
    options: dict = {"socket_connect_timeout": 2, "socket_timeout": 2, "health_check_interval": 30}
    if url.startswith("rediss://"):
        options["ssl_cert_reqs"] = None
    return Redis.from_url(url, **options)
