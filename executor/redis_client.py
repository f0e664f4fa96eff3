"""One way to open Redis for the whole product."""
from __future__ import annotations

from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

#: A command whose connection broke is sent again this many times (on a fresh connection) before the error
#: reaches the caller: a worker rides out a blip or a Redis restart; the web answers 503 well within the 3 s
#: TradingView waits, after one more try (a pooled connection that died with a restarted Redis).
WORKER_RETRIES = 10
WEB_RETRIES = 1
#: The tries back off from 10 ms, doubling, up to this many seconds between two of them.
RETRY_BACKOFF_CAP = 1.0


def connect(url: str, *, retries: int = WORKER_RETRIES) -> Redis:
    """A client for RQ (bytes, not decoded) with short timeouts, so a dead Redis is a quick 503.

    Every move of a job is a script that finds itself already made when it runs again, so a command sent
    again after its answer was lost changes nothing twice. ``rediss://`` on Heroku uses a self-signed
    certificate: encryption stays on, certificate verification is off.
    """
    options: dict = {"socket_connect_timeout": 2, "socket_timeout": 2, "health_check_interval": 30,
                     "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=RETRY_BACKOFF_CAP), retries)}
    if url.startswith("rediss://"):
        options["ssl_cert_reqs"] = None
    return Redis.from_url(url, **options)
