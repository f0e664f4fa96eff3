"""HTTP to a venue, with every failure sorted into: nothing was done, or the outcome is unknown.

A request that changes something (``mutating=True``) and loses its answer is
``OutcomeUnknown``: the venue may have acted. A read that fails is always safe
to repeat: it is tried once more at once when its connection broke (a kept-alive
connection the venue had just closed), and otherwise becomes ``RetryLater``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from executor.errors import OutcomeUnknown, RateLimited, RetryLater, VenueError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds


@dataclass(frozen=True)
class Request:
    """One request as it goes on the wire. ``endpoint`` names it for rate limits and logs."""

    method: str
    url: str
    endpoint: str
    headers: Mapping[str, str]
    body: str | None = None
    mutating: bool = False


#: Called just before each request leaves, with (venue, credential, request); may wait or raise RetryLater.
BeforeSend = Callable[[str, str, Request], None]


@dataclass(frozen=True)
class Reply:
    status: int
    text: str
    headers: Mapping[str, str]
    elapsed_ms: float


def new_session() -> requests.Session:
    """A session that never retries on its own (a silent retry could act twice) and never reads the environment.

    ``requests`` would read proxies and CA bundles from the environment on every request (about 0.4 ms
    of the signal path); ``Transport`` reads them once per venue address instead.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Transport:
    """Sends requests for one process; shared by every adapter in it."""

    def __init__(self, session: requests.Session | None = None, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 before_send: BeforeSend | None = None) -> None:
        self.session = session or new_session()
        self.timeout = timeout
        self.before_send = before_send
        self._environment: dict[str, dict[str, Any]] = {}

    def send(self, venue: str, credential: str, request: Request) -> Reply:
        try:
            response, started = self._send_reading_again_if_broken(venue, credential, request)
        except requests.RequestException as exc:
            raise _classify_exception(venue, request, exc) from None
        reply = Reply(response.status_code, response.text, response.headers, (time.perf_counter() - started) * 1000)
        log.info("%s %s %s -> %s in %.1f ms", venue, request.method, request.endpoint, reply.status, reply.elapsed_ms)
        _raise_for_transport_status(venue, request, reply)
        return reply

    def _send_reading_again_if_broken(self, venue: str, credential: str,
                                      request: Request) -> tuple[requests.Response, float]:
        """A read whose connection broke is sent once more at once; anything that acts never is."""
        try:
            return self._send_once(venue, credential, request)
        except requests.ConnectionError as exc:
            if request.mutating or isinstance(exc, requests.Timeout) or _never_connected(exc):
                raise
            log.info("%s %s %s: connection broke (%s); reading again on a new connection", venue,
                     request.method, request.endpoint, type(exc).__name__)
        return self._send_once(venue, credential, request)

    def _send_once(self, venue: str, credential: str, request: Request) -> tuple[requests.Response, float]:
        if self.before_send is not None:
            self.before_send(venue, credential, request)  # each try takes its own rate-limit slot
        started = time.perf_counter()
        response = self.session.request(
            request.method, request.url, headers=dict(request.headers),
            data=request.body.encode() if request.body is not None else None, timeout=self.timeout,
            **self._environment_for(request.url),
        )
        return response, started

    def _environment_for(self, url: str) -> dict[str, Any]:
        """Proxies and CA bundle the environment sets for this venue address (``HTTPS_PROXY``, ``NO_PROXY``,
        ``REQUESTS_CA_BUNDLE``...), read once: the environment of a running process does not change."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._environment:
            with requests.Session() as reader:  # trust_env on: reads what requests would read
                self._environment[origin] = reader.merge_environment_settings(origin + "/", {}, None, None, None)
        return self._environment[origin]


def _classify_exception(venue: str, request: Request, exc: requests.RequestException) -> Exception:
    description = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return RetryLater(venue, None, f"could not connect ({description}); nothing was sent", reason="connection")
    if not request.mutating:
        return RetryLater(venue, None, f"read failed ({description}); safe to repeat", reason="connection")
    return OutcomeUnknown(venue, None, f"{request.endpoint}: request sent, answer lost ({description})")


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the connection was refused or never made, so the request never left."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NewConnectionError):
            return True
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else seen.__context__
    return False


def _raise_for_transport_status(venue: str, request: Request, reply: Reply) -> None:
    """Sort the statuses that mean the same on every venue; the rest is left to the venue's parser."""
    if reply.status == 429:
        raise RateLimited(venue, 429, "rate limit exceeded (HTTP 429)", http_status=429,
                          retry_after=_retry_after(reply.headers), reason="rate_limit")
    if reply.status >= 500:
        if request.mutating:
            raise OutcomeUnknown(venue, reply.status, f"{request.endpoint}: HTTP {reply.status} after sending",
                                 http_status=reply.status)
        raise RetryLater(venue, reply.status, f"HTTP {reply.status} on a read", http_status=reply.status,
                         reason="venue_error")


def unreadable_answer(venue: str, request: Request, reply: Reply) -> VenueError:
    """An answer that cannot be read: after a request that acts the outcome is unknown; a read is repeated."""
    if request.mutating:
        return OutcomeUnknown(venue, None, f"{request.endpoint}: unreadable answer (HTTP {reply.status})",
                              http_status=reply.status)
    return RetryLater(venue, None, f"{request.endpoint}: unreadable answer to a read (HTTP {reply.status})",
                      http_status=reply.status, reason="venue_error")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
