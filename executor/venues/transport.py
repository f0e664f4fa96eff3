"""HTTP to a venue, with every failure sorted into: nothing was done, or the outcome is unknown.

A request that changes something (``mutating=True``) and loses its answer is
``OutcomeUnknown``: the venue may have acted. A read that fails is always safe
to repeat: it is tried once more at once when its connection broke (a kept-alive
connection the venue had just closed), and otherwise becomes ``RetryLater``.
Whatever failed before the request could leave (no connection to the venue or
to its proxy, the proxy refusing its credentials, a certificate not trusted) is
``RetryLater`` too: nothing was done.
"""
from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import requests
import urllib3.exceptions

from executor import ownership
from executor.errors import OutcomeUnknown, RateLimited, RetryLater, VenueError
from executor.venues.routes import Route, open_route, origin_of

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds

#: How http.client words a proxy's refusal of a tunnel (``OSError``), followed by the proxy's status line.
_TUNNEL_REFUSED = "Tunnel connection failed:"
_CREDENTIALS_HINT = ": check the user and password in the proxy URL"

#: What ``requests`` raises before it opens any connection: a URL or proxy URL it cannot use (a SOCKS proxy
#: without PySocks installed, say), or a header value it refuses to send (a line break in a token).
_NOT_MADE = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
             requests.exceptions.InvalidHeader)


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

    Built on ``requests``: one Session per venue address (``routes.open_route``), with kept-alive
    connections, the environment's proxy (credentials in its URL included, and ``NO_PROXY``) and CA
    bundle. Nothing is retried or redirected on its own: a silent retry could act twice.
    """

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 before_send: BeforeSend | None = None) -> None:
        self.timeout = timeout
        self.before_send = before_send
        self._routes: dict[str, Route] = {}
        self._opening = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(routes={list(self._routes.values())!r})"

    def send(self, venue: str, credential: str, request: Request) -> Reply:
        try:
            route = self.route(request.url)
        except requests.exceptions.InvalidProxyURL as exc:
            raise RetryLater(venue, None, f"{exc}: check the proxy settings; nothing was sent",
                             reason="proxy") from None
        try:
            response, started = self._send_reading_again_if_broken(route, venue, credential, request)
        except requests.RequestException as exc:
            raise _classify_exception(venue, request, route, exc) from None
        reply = Reply(response.status_code, _text(response), response.headers,
                      (time.perf_counter() - started) * 1000)
        log.info("%s %s %s -> %s in %.1f ms", venue, request.method, request.endpoint, reply.status, reply.elapsed_ms)
        _raise_for_transport_status(venue, request, reply, route)
        return reply

    def close(self) -> None:
        """Close every kept-alive connection (to the venues and to their proxies)."""
        with self._opening:
            routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            route.session.close()

    def route(self, url: str) -> Route:
        """The Session for this venue address, opened at its first request."""
        origin = origin_of(url)
        route = self._routes.get(origin)
        if route is None:
            with self._opening:
                route = self._routes.get(origin) or open_route(origin)
                self._routes[origin] = route
        return route

    def _send_reading_again_if_broken(self, route: Route, venue: str, credential: str,
                                      request: Request) -> tuple[requests.Response, float]:
        """A read whose connection broke is sent once more at once; anything that acts never is."""
        try:
            return self._send_once(route, venue, credential, request)
        except requests.ConnectionError as exc:
            if request.mutating or not _connection_broke(exc):
                raise
            log.info("%s %s %s: connection broke (%s); reading again on a new connection", venue,
                     request.method, request.endpoint, _description(exc))
        return self._send_once(route, venue, credential, request)

    def _send_once(self, route: Route, venue: str, credential: str,
                   request: Request) -> tuple[requests.Response, float]:
        if self.before_send is not None:
            self.before_send(venue, credential, request)  # each try takes its own rate-limit slot
        if request.mutating:
            ownership.make_pending_write()  # normally made by before_send's fence already
        started = time.perf_counter()
        return route.session.send(route.prepare(request.method, request.url, request.headers, request.body),
                                  timeout=self.timeout, allow_redirects=False), started


def _text(response: requests.Response) -> str:
    """The body as text: the charset the answer names, else UTF-8 (what JSON is sent in).

    Not ``response.text``, which guesses a charset from the bytes when the answer names none."""
    charset = "utf-8"
    for part in response.headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return response.content.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return response.content.decode("utf-8", errors="replace")


def _classify_exception(venue: str, request: Request, route: Route, exc: requests.RequestException) -> Exception:
    description = _description(exc)
    refusal = _proxy_refusal(exc)
    if route.proxy is not None and refusal is not None:
        return RetryLater(venue, None, f"the proxy {route.proxy} refused the tunnel to {route.origin} ({refusal}"
                          f"{_CREDENTIALS_HINT if refusal.startswith('407') else ''}); nothing was sent to the venue",
                          reason="proxy")
    if isinstance(exc, _NOT_MADE):
        return RetryLater(venue, None, f"the request could not be made ({description}: check the venue's base "
                          "URL, its credentials and the proxy settings); nothing was sent", reason="connection")
    if _certificate_refused(exc):
        return RetryLater(venue, None, f"the TLS certificate of {route.origin} is not trusted ({description}); "
                          "nothing was sent", reason="connection")
    if _never_connected(exc):
        through = f" through the proxy {route.proxy}" if route.proxy is not None else ""
        return RetryLater(venue, None, f"could not connect{through} ({description}); nothing was sent",
                          reason="connection")
    if not request.mutating:
        return RetryLater(venue, None, f"read failed ({description}); safe to repeat", reason="connection")
    return OutcomeUnknown(venue, None, f"{request.endpoint}: request sent, answer lost ({description})")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every one it was raised from or while handling (``requests`` wraps urllib3's)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError.reason: the error it gave up on
        pending += [current.__cause__, current.__context__, reason if isinstance(reason, BaseException) else None]


def _description(exc: requests.RequestException) -> str:
    """The names of the errors, innermost last: what happened, and nothing of the URL or the proxy's user."""
    names = [type(cause).__name__ for cause in _causes(exc)]
    return " < ".join(dict.fromkeys(names))


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the request cannot have left: no connection to the venue (refused, unresolvable, timed
    out connecting) or to its proxy."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.ProxyError)):
        return True
    return any(isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                                  urllib3.exceptions.ProxyError))
               for cause in _causes(exc))


def _proxy_refusal(exc: requests.RequestException) -> str | None:
    """The proxy's status line when it refused a tunnel (CONNECT), as http.client words it: "407 Proxy
    Authentication Required" for wrong or missing credentials."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and str(cause).startswith(_TUNNEL_REFUSED):
            return str(cause)[len(_TUNNEL_REFUSED):].strip()
    return None


def _certificate_refused(exc: requests.RequestException) -> bool:
    """TLS verification failed during the handshake, before any byte of the request left."""
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc))


def _connection_broke(exc: requests.ConnectionError) -> bool:
    """The connection closed or reset after the request went out (say, a kept-alive one the venue had
    just closed), as opposed to one never made."""
    return (not _never_connected(exc) and _proxy_refusal(exc) is None
            and any(isinstance(cause, urllib3.exceptions.ProtocolError) for cause in _causes(exc)))


def _raise_for_transport_status(venue: str, request: Request, reply: Reply, route: Route) -> None:
    """Sort the statuses that mean the same on every venue; the rest is left to the venue's parser."""
    if reply.status == 407 and route.proxy is not None:  # the proxy's own answer: the venue saw nothing
        raise RetryLater(venue, None, f"the proxy {route.proxy} refused the request (HTTP 407 Proxy "
                         f"Authentication Required{_CREDENTIALS_HINT}); nothing was sent to the venue",
                         http_status=407, reason="proxy")
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
