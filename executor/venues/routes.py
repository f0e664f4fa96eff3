"""How requests reach one venue address: a ``requests`` Session per origin, with the environment's proxy.

``requests`` reads the proxy (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, in upper or
lower case) and the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi's) from the
environment. They are read here once per origin, exactly as ``requests`` reads them, and given to that
origin's Session, which then reads the environment no more: the environment of a running process does
not change, and reading it (and ``~/.netrc``) for every request would cost time on the signal path and
could add an ``Authorization`` header from a netrc file to a venue's signed request.

A proxy URL may carry a user and password (``http://user:pass@host:port``, what Heroku's static-IP add-ons
hand out); ``requests`` turns them into ``Proxy-Authorization``. They stay inside the Session: messages and
logs name the proxy by ``scheme://host:port`` only (``Route.proxy``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy

log = logging.getLogger(__name__)

#: Kept-alive connections per venue address: one per thread that may send at once.
POOL_SIZE = 8


@dataclass(frozen=True, repr=False)
class Route:
    """The Session for one venue origin, and the proxy it goes through (without credentials), if any."""

    origin: str
    session: requests.Session
    proxy: str | None

    def __repr__(self) -> str:
        return f"Route({self.origin!r}, proxy={self.proxy!r})"

    def prepare(self, method: str, url: str, headers: Mapping[str, str], body: str | None) -> requests.PreparedRequest:
        """The request as it goes out: the Session's default headers (``User-Agent``, ``Accept-Encoding``...)
        under the request's own. Prepared directly rather than merged with the Session's cookies and auth,
        which a venue's signed REST request has no use for, and which cost time on the signal path."""
        return requests.Request(method, url, headers={**self.session.headers, **headers},
                                data=body.encode() if body is not None else None).prepare()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def open_route(origin: str) -> Route:
    """A Session for ``origin``: kept-alive pools, no retries, the environment's proxy and CA bundle.

    Raises ``InvalidProxyURL`` (its message without the URL) for a proxy URL that names no host."""
    proxy, verify = environment_for(origin)
    if proxy is not None and not urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname:
        raise requests.exceptions.InvalidProxyURL(f"the proxy URL for {origin} names no host")
    session = requests.Session()
    session.trust_env = False  # read once, just above
    session.proxies = {urlsplit(origin).scheme: proxy} if proxy else {}
    session.verify = verify
    for prefix in ("https://", "http://"):
        # max_retries=0: a silent retry could act twice; redirects are refused per request.
        session.mount(prefix, HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=0))
    route = Route(origin, session, redacted(proxy) if proxy else None)
    if route.proxy is not None:
        log.info("requests to %s go through the proxy %s%s", origin, route.proxy,
                 " (with credentials)" if urlsplit(proxy).password is not None else "")
    return route


def environment_for(origin: str) -> tuple[str | None, bool | str]:
    """The proxy URL (or None, as with ``NO_PROXY``) and the ``verify`` value ``requests`` would use."""
    with requests.Session() as reader:  # trust_env on: reads what requests would read
        settings = reader.merge_environment_settings(origin + "/", {}, None, None, None)
    verify = settings.get("verify")
    return select_proxy(origin + "/", settings.get("proxies") or {}), verify if verify is not None else True


def redacted(proxy_url: str) -> str:
    """``scheme://host:port`` of a proxy URL: no user, no password, nothing that could hold a secret."""
    try:
        parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
        host, port = parts.hostname or "?", parts.port
    except ValueError:  # a port that is not a number
        return "(a malformed proxy URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
