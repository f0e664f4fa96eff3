"""The console's JSON routes: ``GET /alerts``, ``GET /jobs``, ``GET /status`` and ``GET /openapi.json``.

Each takes the admin token or a session (``executor.console.access``), reads its query strictly (an unknown
parameter or a bad value is a 400 naming it) and calls one function.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, TypeVar

from flask import Blueprint, Response, jsonify, request

from executor.console.access import require_operator
from executor.console.context import console, services
from executor.console.joblist import STATUSES, job_page
from executor.console.openapi import document
from executor.console.overview import overview
from executor.console.signallog import OUTCOMES, BadQuery
from executor.domain import VENUES
from executor.replay import parse_since

if TYPE_CHECKING:
    from executor.app import Services

api = Blueprint("console_api", __name__)
T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_TEXT = 256


@api.get("/alerts")
def alerts() -> Response:
    ctx = _operator()
    query = Query({"outcome", "since", "limit", "cursor", "search"}, ctx.clock())
    page = console().signal_log.page(query.choices("outcome", OUTCOMES), limit=query.limit(),
                                     since=query.since(), cursor=query.text("cursor"), search=query.text("search"))
    return jsonify(alerts=page.entries, next_cursor=page.next_cursor)


@api.get("/jobs")
def jobs() -> Response:
    ctx = _operator()
    query = Query({"status", "venue", "symbol", "since", "limit", "cursor", "search"}, ctx.clock())
    venue = query.text("venue")
    if venue is not None and venue not in VENUES:
        raise BadQuery(f"venue: unknown venue {venue[:40]!r}; one of: {', '.join(VENUES)}")
    page = job_page(ctx.queue, statuses=query.choices("status", STATUSES), venue=venue,
                    symbol=query.text("symbol"), since=query.since(), limit=query.limit(),
                    cursor=query.text("cursor"), search=query.text("search"))
    return jsonify(jobs=page.jobs, next_cursor=page.next_cursor)


@api.get("/status")
def status() -> Response:
    ctx = _operator()
    Query(set(), ctx.clock())
    return jsonify(overview(ctx.queue, ctx.settings.funding, ctx.clock()))


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


def _operator() -> Services:
    ctx = services()
    require_operator(ctx.settings.admin_token, ctx.clock())
    return ctx


class Query:
    """The request's query string, read strictly: only ``allowed`` names, each value checked."""

    def __init__(self, allowed: set[str], now: datetime) -> None:
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise BadQuery(f"unknown query parameter {unknown[0][:40]!r}; this route takes: {accepted}")
        self.now = now

    def text(self, name: str) -> str | None:
        value = request.args.get(name)
        if value is None:
            return None
        if not value or len(value) > MAX_TEXT:
            raise BadQuery(f"{name}: 1 to {MAX_TEXT} characters (leave the parameter out to not filter on it)")
        return value

    def limit(self) -> int:
        return self._parsed("limit", DEFAULT_LIMIT, _limit)

    def since(self) -> datetime | None:
        return self._parsed("since", None, lambda text: parse_since(text, self.now))

    def choices(self, name: str, allowed: tuple[str, ...]) -> frozenset[str]:
        """A comma-separated list of ``allowed`` words; none given means all of them."""
        text = self.text(name)
        if text is None:
            return frozenset(allowed)
        words = set(text.split(","))
        wrong = sorted(words - set(allowed))
        if wrong:
            raise BadQuery(f"{name}: {', '.join(repr(word[:40]) for word in wrong)} is not one of: "
                           f"{', '.join(allowed)} (several may be given, comma-separated)")
        return frozenset(words)

    def _parsed(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        text = self.text(name)
        if text is None:
            return default
        try:
            return parse(text)
        except (ValueError, OverflowError) as exc:  # OverflowError: a duration reaching before year 1
            raise BadQuery(f"{name}: {exc}") from None


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)
