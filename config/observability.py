"""Settings of what the product tells people: notifications, the metrics endpoint's token, the log format.

- ``NOTIFY_URLS``: Apprise URLs, comma-separated (a comma inside one URL's parameters, as in
  ``mailto://…?to=a@x.com,b@y.com``, stays in that URL: a new URL starts only where a comma is followed
  by ``scheme://``). Each must be one Apprise can send to. They hold tokens: kept as ``Secret``.
- ``NOTIFY_EVENTS``: which events are sent (default: all of ``NOTIFY_EVENTS``).
- ``METRICS_TOKEN``: a bearer token for ``GET /metrics`` besides ``ADMIN_TOKEN``.
- ``LOG_FORMAT``: ``text`` (default) or ``json``, one object per line.

A bad value raises ``ValueError`` naming the variable, never printing a URL (it may hold a token).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

from config.secrets import Secret

#: The events a notification can be sent for, each with what it means.
NOTIFY_EVENTS = {
    "job_failed": "a job failed (rejected by the venue, nothing to act on, gave up retrying...)",
    "needs_attention": "a job failed while the venue's state could not tell whether its action happened",
    "stale": "a signal refused as too old (at intake, MAX_ALERT_AGE; in a worker, MAX_EXECUTION_DELAY)",
    "refused": "alerts refused at the webhook (wrong secret, address, unrendered placeholder, bad fields), "
               "summarised at most once a minute",
    "no_worker": "jobs waiting with no live worker (and when workers are back)",
}
LOG_FORMATS = ("text", "json")
#: A comma followed by a scheme starts the next URL; any other comma belongs to the URL it is in.
_NEXT_URL = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.\-]*://)")
#: Parts of a notification URL at least this long are masked wherever a log line or a message shows them.
MIN_MASKED_PART = 8


@dataclass(frozen=True)
class Observability:
    notify_urls: tuple[Secret, ...] = ()
    notify_events: frozenset[str] = field(default_factory=lambda: frozenset(NOTIFY_EVENTS))
    metrics_token: Secret | None = None
    log_format: str = "text"

    def notifies(self, event: str) -> bool:
        """A notification of ``event`` is wanted: some URL is set and the event is chosen."""
        return bool(self.notify_urls) and event in self.notify_events


def load_observability(env: Mapping[str, str]) -> Observability:
    token = env.get("METRICS_TOKEN", "").strip()
    return Observability(
        notify_urls=tuple(Secret(url) for url in notify_urls(env.get("NOTIFY_URLS", ""))),
        notify_events=notify_events(env.get("NOTIFY_EVENTS", "")),
        metrics_token=Secret(token) if token else None,
        log_format=load_log_format(env),
    )


def load_log_format(env: Mapping[str, str]) -> str:
    value = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT: must be one of {', '.join(LOG_FORMATS)}")
    return value


def split_urls(text: str) -> list[str]:
    return [part.strip() for part in _NEXT_URL.split(text) if part.strip()]


def notify_urls(text: str) -> list[str]:
    """The URLs of ``NOTIFY_URLS``, each checked with Apprise; an error names the item, never its text."""
    urls = split_urls(text)
    if not urls:
        return []
    from apprise import Apprise

    for number, url in enumerate(urls, start=1):
        if not Apprise().add(url):
            scheme = url.partition("://")[0] if "://" in url else "no scheme"
            raise ValueError(f"NOTIFY_URLS: item {number} ({scheme}://…) is not a URL Apprise can send to; see "
                             f"https://github.com/caronc/apprise/wiki for each service's form")
    return urls


def notify_events(text: str) -> frozenset[str]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in NOTIFY_EVENTS]
    if unknown:
        raise ValueError(f"NOTIFY_EVENTS: unknown event {', '.join(unknown)}; choose among "
                         f"{', '.join(NOTIFY_EVENTS)}")
    return frozenset(names) if names else frozenset(NOTIFY_EVENTS)


#: Proxy variables whose URLs may carry a user and password (read by ``requests`` for venue requests).
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def secret_texts(settings: Any, env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret the settings hold, as text, longest first: secrets, API keys (which identify an account
    and are kept out of messages too), the token-bearing parts of notification URLs, and the password of a
    proxy URL in ``env`` (the process environment by default). What a log line or a notification masks,
    should any of them ever reach one."""
    found = {text for text in _secrets_in(settings) if text}
    for name in PROXY_VARIABLES:
        password = urlsplit((os.environ if env is None else env).get(name, "")).password
        if password:
            found.add(password)
    return sorted(found, key=len, reverse=True)


def _secrets_in(value: Any, name: str = "") -> Iterator[str]:
    if isinstance(value, Secret):
        yield value.reveal()
        if name == "notify_urls":
            yield from url_secret_parts(value.reveal())
    elif isinstance(value, str):
        if name == "api_key":
            yield value
    elif is_dataclass(value) and not isinstance(value, type):
        for item in fields(value):
            yield from _secrets_in(getattr(value, item.name), item.name)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secrets_in(item, name)
    elif isinstance(value, (tuple, list, frozenset, set)):
        for item in value:
            yield from _secrets_in(item, name)


def url_secret_parts(url: str) -> list[str]:
    """The parts of an Apprise URL that may be tokens: the user and password, path segments, query values and
    a host that is no address (``tgram://<bot token>/…``), when they look like a token (MIN_MASKED_PART
    characters or more, with a digit, or 20 characters or more: plain words are not masked)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    candidates = [parts.password or "", parts.username or "", *parts.path.split("/"),
                  *(value for _, value in parse_qsl(parts.query))]
    if "." not in host:
        candidates += host.split(":")
    return [part for part in candidates if _looks_like_token(part)]


def _looks_like_token(text: str) -> bool:
    return len(text) >= MIN_MASKED_PART and (any(char.isdigit() for char in text) or len(text) >= 20)
