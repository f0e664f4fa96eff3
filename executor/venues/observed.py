"""A worker's transport, observed: each venue request timed in the running attempt's ``timings``
(``executor.stagetimes``) and counted by result (``executor_venue_requests_total``), and a request that acts
logged as it leaves (``sent``). Every request's answer is the transport's own line; a read gets no ``sent``
line of its own, which would cost the trading request that follows it a write to stderr.

It stands beside ``executor.venues.transport`` rather than inside it: ``Transport`` is subclassed through its
public ``send`` and its ``before_send`` hook, so the transport itself knows nothing of logs, jobs or metrics.
"""
from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from executor import stagetimes
from executor.errors import VenueError
from executor.metrics.catalogue import VENUE_REQUESTS
from executor.metrics.store import MetricsBuffer
from executor.venues.transport import BeforeSend, Reply, Request, Transport

log = logging.getLogger(__name__)


def result_of_status(status: int | None) -> str:
    """How a request ended, for ``executor_venue_requests_total{result}``."""
    if status is None:
        return "no_answer"
    if status == 429:
        return "rate_limited"
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500:
        return "client_error"
    return "server_error" if status >= 500 else "other"


class ObservedTransport(Transport):
    """``Transport`` whose requests are logged, timed and counted; see the module docstring."""

    def __init__(self, *, before_send: BeforeSend | None = None, metrics: MetricsBuffer | None = None,
                 **options: Any) -> None:
        self._left = threading.local()
        self.metrics = metrics
        super().__init__(before_send=self._leaving(before_send), **options)

    def _leaving(self, before_send: BeforeSend | None) -> BeforeSend:
        def leaving(venue: str, credential: str, request: Request) -> None:
            if before_send is not None:
                before_send(venue, credential, request)  # the slot and the funding check: it may raise
            self._left.request = True
            stagetimes.request_left()
            if request.mutating:
                log.info("sent: %s %s %s (%s)", venue, request.method, urlsplit(request.url).path, request.endpoint,
                         extra={"fields": {"event": "sent", "venue": venue, "endpoint": request.endpoint}})
        return leaving

    def send(self, venue: str, credential: str, request: Request) -> Reply:
        self._left.request = False
        try:
            reply = super().send(venue, credential, request)
        except VenueError as exc:
            if getattr(self._left, "request", False):  # it left: count it (a refused slot sent nothing)
                if exc.http_status is not None:
                    stagetimes.answer_arrived()
                self._count(venue, request, exc.http_status)
            raise
        stagetimes.answer_arrived()
        self._count(venue, request, reply.status)
        return reply

    def _count(self, venue: str, request: Request, status: int | None) -> None:
        if self.metrics is not None:
            self.metrics.count(VENUE_REQUESTS, venue, request.endpoint, result_of_status(status))
