"""One way to open Redis for the whole product, and the check of the Redis settings it relies on."""
from __future__ import annotations

import logging

from redis import Redis
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

#: A command whose connection broke is sent again this many times (on a fresh connection) before the error
#: reaches the caller: a worker rides out a blip or a Redis restart; the web answers 503 well within the 3 s
#: TradingView waits, after one more try (a pooled connection that died with a restarted Redis).
WORKER_RETRIES = 10
WEB_RETRIES = 1
#: Seconds to open a connection: the web's two tries stay within TradingView's 3 s.
CONNECT_TIMEOUT = 2.0
WEB_CONNECT_TIMEOUT = 1.0
#: The tries back off from about 10 ms, doubling, up to this many seconds between two of them.
RETRY_BACKOFF_CAP = 1.0


def connect(url: str, *, retries: int = WORKER_RETRIES, connect_timeout: float = CONNECT_TIMEOUT) -> Redis:
    """A client for RQ (bytes, not decoded) with short timeouts, so a dead Redis is a quick 503.

    Every move of a job is a script that finds itself already made when it runs again, so a command sent
    again after its answer was lost changes nothing twice. ``rediss://`` on Heroku uses a self-signed
    certificate: encryption stays on, certificate verification is off.
    """
    options: dict = {"socket_connect_timeout": connect_timeout, "socket_timeout": 2, "health_check_interval": 30,
                     "retry": Retry(EqualJitterBackoff(cap=RETRY_BACKOFF_CAP, base=0.01), retries),
                     "retry_on_error": [RedisConnectionError, RedisTimeoutError]}  # redis-py 5 retries only these
    if url.startswith("rediss://"):
        options["ssl_cert_reqs"] = None
    return Redis.from_url(url, **options)


def warn_about_settings(connection: Redis, process: str) -> list[str]:
    """Read Redis's eviction policy and persistence and log a warning, one line each, for a setting that can
    lose accepted alerts; the lines logged. A Redis that refuses ``CONFIG GET`` (some hosted ones) is said
    so once; one that does not answer is too: the process goes on either way."""
    try:
        config = {**connection.config_get("maxmemory-policy"), **connection.config_get("appendonly"),
                  **connection.config_get("appendfsync"), **connection.config_get("save")}
    except ResponseError as exc:
        return _said(f"{process}: Redis refuses CONFIG GET ({exc}); its eviction policy and persistence cannot be "
                     f"checked here: make sure of maxmemory-policy noeviction and AOF (README, Deploying)")
    except RedisError as exc:
        return _said(f"{process}: Redis did not answer at start ({type(exc).__name__}); its eviction policy and "
                     f"persistence were not checked")
    settings = {_text(key): _text(value) for key, value in config.items()}
    return [_said(line)[0] for line in settings_warnings(settings, process)]


def settings_warnings(settings: dict[str, str], process: str) -> list[str]:
    """The warnings a Redis with these ``CONFIG GET`` values deserves (none for noeviction with AOF)."""
    lines = []
    policy = settings.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        lines.append(f"{process}: Redis maxmemory-policy is {policy}: under memory pressure Redis may evict "
                     f"queued jobs, lanes and their records; set it to noeviction (RQ requires it)")
    aof = settings.get("appendonly", "no") == "yes"
    snapshots = bool(settings.get("save", "").strip())
    if not aof and not snapshots:
        lines.append(f"{process}: Redis persists nothing (appendonly no, no save points): a restart of Redis "
                     f"loses every accepted alert not yet performed; set appendonly yes with appendfsync always "
                     f"or everysec")
    elif not aof:
        lines.append(f"{process}: Redis persists only snapshots (save {settings['save']}, appendonly no): a "
                     f"restart of Redis loses the alerts accepted since the last snapshot; set appendonly yes")
    elif settings.get("appendfsync") == "no":
        lines.append(f"{process}: Redis appendfsync is no: a crash of its machine can lose the last 30 s or so "
                     f"of accepted alerts; set appendfsync always or everysec")
    return lines


def _said(line: str) -> list[str]:
    log.warning("%s", line)
    return [line]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
