"""HTTP to a venue, with every failure sorted into: nothing was done, or the outcome is unknown.

A request that changes something (``mutating=True``) and loses its answer is
``OutcomeUnknown``: the venue may have acted. A read that fails is always safe
to repeat: it is tried once more at once when its connection broke (a kept-alive
connection the venue had just closed), and otherwise becomes ``RetryLater``.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, ProxyError

from executor import ownership
from executor.errors import OutcomeUnknown, RateLimited, RetryLater, VenueError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
#: Kept-alive connections per venue address: one per thread that may send at once.
POOL_SIZE = 8


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


class Transport:
    """Sends requests for one process; shared by every adapter in it.

    Built on urllib3's connection pools rather than ``requests``: a request leaves about 0.4 ms sooner,
    which is most of what the client adds to the signal path. Nothing is retried or redirected on its
    own (a silent retry could act twice). Proxies and the CA bundle come from the environment as
    ``requests`` reads them (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``...), once per venue
    address: the environment of a running process does not change.
    """

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 before_send: BeforeSend | None = None) -> None:
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.before_send = before_send
        self._routes: dict[str, urllib3.PoolManager] = {}
        self._managers: dict[tuple[str | None, str], urllib3.PoolManager] = {}

    def send(self, venue: str, credential: str, request: Request) -> Reply:
        try:
            response, started = self._send_reading_again_if_broken(venue, credential, request)
        except HTTPError as exc:
            raise _classify_exception(venue, request, exc) from None
        reply = Reply(response.status, _text(response), response.headers, (time.perf_counter() - started) * 1000)
        log.info("%s %s %s -> %s in %.1f ms", venue, request.method, request.endpoint, reply.status, reply.elapsed_ms)
        _raise_for_transport_status(venue, request, reply)
        return reply

    def _send_reading_again_if_broken(self, venue: str, credential: str,
                                      request: Request) -> tuple[urllib3.BaseHTTPResponse, float]:
        """A read whose connection broke is sent once more at once; anything that acts never is."""
        try:
            return self._send_once(venue, credential, request)
        except ProtocolError as exc:
            if request.mutating:
                raise
            log.info("%s %s %s: connection broke (%s); reading again on a new connection", venue,
                     request.method, request.endpoint, type(exc).__name__)
        return self._send_once(venue, credential, request)

    def _send_once(self, venue: str, credential: str, request: Request) -> tuple[urllib3.BaseHTTPResponse, float]:
        if self.before_send is not None:
            self.before_send(venue, credential, request)  # each try takes its own rate-limit slot
        if request.mutating:
            ownership.make_pending_write()  # normally made by before_send's fence already
        started = time.perf_counter()
        response = self._route(request.url).urlopen(
            request.method, request.url, headers=dict(request.headers),
            body=request.body.encode() if request.body is not None else None,
            timeout=self.timeout, retries=False, redirect=False,
        )
        return response, started

    def _route(self, url: str) -> urllib3.PoolManager:
        """The pools for this venue address: through the environment's proxy for it, if any."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._routes:
            proxy, ca_bundle = _environment_for(origin)
            if (proxy, ca_bundle) not in self._managers:
                self._managers[(proxy, ca_bundle)] = _pool_manager(proxy, ca_bundle)
            self._routes[origin] = self._managers[(proxy, ca_bundle)]
        return self._routes[origin]


def _environment_for(origin: str) -> tuple[str | None, str]:
    """The proxy (or None) and CA bundle ``requests`` would use for this address."""
    with requests.Session() as reader:  # trust_env on: reads what requests would read
        settings = reader.merge_environment_settings(origin + "/", {}, None, None, None)
    verify = settings.get("verify")
    ca_bundle = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
    return select_proxy(origin + "/", settings.get("proxies") or {}), ca_bundle


def _pool_manager(proxy: str | None, ca_bundle: str) -> urllib3.PoolManager:
    where = {"ca_cert_dir": ca_bundle} if os.path.isdir(ca_bundle) else {"ca_certs": ca_bundle}
    if proxy is None:
        return urllib3.PoolManager(maxsize=POOL_SIZE, cert_reqs="CERT_REQUIRED", **where)
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as requests does for SOCKS

        return SOCKSProxyManager(proxy, maxsize=POOL_SIZE, cert_reqs="CERT_REQUIRED", **where)
    return urllib3.ProxyManager(proxy, maxsize=POOL_SIZE, cert_reqs="CERT_REQUIRED", **where)


def _text(response: urllib3.BaseHTTPResponse) -> str:
    """The body as text: the charset the answer names, else UTF-8 (what JSON is sent in)."""
    charset = "utf-8"
    for part in response.headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return response.data.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return response.data.decode("utf-8", errors="replace")


def _classify_exception(venue: str, request: Request, exc: HTTPError) -> Exception:
    description = type(exc).__name__
    if _never_connected(exc):
        return RetryLater(venue, None, f"could not connect ({description}); nothing was sent", reason="connection")
    if not request.mutating:
        return RetryLater(venue, None, f"read failed ({description}); safe to repeat", reason="connection")
    return OutcomeUnknown(venue, None, f"{request.endpoint}: request sent, answer lost ({description})")


def _never_connected(exc: HTTPError) -> bool:
    """True when the request cannot have left: no connection to the venue (refused, unresolvable, timed
    out connecting) or to its proxy."""
    return isinstance(exc, (NewConnectionError, urllib3.exceptions.ConnectTimeoutError, ProxyError))


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
