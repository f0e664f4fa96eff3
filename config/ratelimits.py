"""The venues' documented rate limits, declared as data.

Each request is charged to its endpoint's own windows AND to its venue's pool
(the limit every endpoint of one credential shares), so that one request can
never be admitted by one window while another is full. ``executor.ratelimit``
enforces them; this module only says what they are (see docs VENUES.md).

A window is identified by its ``RateLimit.name`` within one venue and one
credential: two endpoints that declare the same name share one window.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from config.settings import SettingsError


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests in any sliding window of ``period`` seconds."""

    name: str
    limit: int
    period: float

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a rate limit needs a name")
        if self.limit < 1 or self.period <= 0:
            raise ValueError(f"rate limit {self.name!r} needs limit >= 1 and period > 0")


POOL = "pool"
"""Name of the per-venue window every request of one credential is charged to."""

POOL_BURST = "pool_burst"
"""Name of CrossTrade's second pool window, the short burst allowance."""

COINW_POOL_ENV = "COINW_POOL_LIMIT"
"""Environment variable overriding CoinW's pool, in requests per second."""

COINW_POOL_DEFAULT = 30
"""CoinW's global limit is undocumented: 30 req/s, its largest documented endpoint limit."""

BITGET_POOL_ENV = "BITGET_POOL_LIMIT"
"""Environment variable overriding Bitget's pool, in requests per second."""

BITGET_POOL_DEFAULT = 20
"""Bitget's pool per UID, in requests per second (its largest limit among the endpoints used)."""

CROSSTRADE_POOL = (RateLimit(POOL, 180, 60.0), RateLimit(POOL_BURST, 20, 1.0))
"""CrossTrade's account-wide limit: 180 per minute with a burst of 20, as two windows."""


def _per_second(name: str, limit: int) -> tuple[RateLimit, ...]:
    return (RateLimit(name, limit, 1.0),)


COINW_ENDPOINTS: Mapping[str, tuple[RateLimit, ...]] = MappingProxyType({
    "positions": _per_second("positions", 10),  # GET /v1/perpum/positions
    "reverse": _per_second("reverse", 5),  # POST /v1/perpum/positions/reverse, per user and IP
    "close": _per_second("close", 30),  # DELETE /v1/perpum/positions, per user
    "close_all": _per_second("close_all", 5),  # DELETE /v1/perpum/allpositions
})
"""CoinW's documented per-endpoint limits, per API key."""

BITGET_ENDPOINTS: Mapping[str, tuple[RateLimit, ...]] = MappingProxyType({
    "reverse": _per_second("reverse", 10),  # POST /api/v2/mix/order/click-backhand, per UID
    "close_positions": _per_second("close_positions", 1),  # POST /api/v2/mix/order/close-positions, per UID
    "position": _per_second("position", 10),  # GET /api/v2/mix/position/single-position
    "place_order": _per_second("place_order", 10),  # POST /api/v2/mix/order/place-order
    "order_detail": _per_second("order_detail", 10),  # GET /api/v2/mix/order/detail
    "server_time": _per_second("server_time", 20),  # GET /api/v2/public/time
    "contracts": _per_second("contracts", 20),  # GET /api/v2/mix/market/contracts (per IP; charged per UID here)
})
"""Bitget's documented per-endpoint limits, per UID."""

CROSSTRADE_ENDPOINTS: Mapping[str, tuple[RateLimit, ...]] = MappingProxyType({
    "reverse": (),
    "close": (),
    "position": (),
})
"""CrossTrade has no per-endpoint limit: every endpoint only shares the account pool."""

ENDPOINT_LIMITS: Mapping[str, Mapping[str, tuple[RateLimit, ...]]] = MappingProxyType({
    "coinw": COINW_ENDPOINTS,
    "bitget": BITGET_ENDPOINTS,
    "crosstrade": CROSSTRADE_ENDPOINTS,
})
"""Per venue, endpoint name (as the adapters spell it) to the endpoint's own windows."""


def pool_for(venue: str, env: Mapping[str, str] | None = None) -> tuple[RateLimit, ...]:
    """The windows every request to ``venue`` is charged to, with env overrides applied."""
    if venue == "coinw":
        return _per_second(POOL, _pool_limit(env, COINW_POOL_ENV, COINW_POOL_DEFAULT))
    if venue == "bitget":
        return _per_second(POOL, _pool_limit(env, BITGET_POOL_ENV, BITGET_POOL_DEFAULT))
    if venue == "crosstrade":
        return CROSSTRADE_POOL
    raise KeyError(f"no rate limits declared for venue {venue!r}")


def limits_for(venue: str, endpoint: str, env: Mapping[str, str] | None = None) -> tuple[RateLimit, ...]:
    """The endpoint's own windows plus the venue pool; an undeclared endpoint gets the pool only."""
    pool = pool_for(venue, env)
    return ENDPOINT_LIMITS[venue].get(endpoint, ()) + pool


def _pool_limit(env: Mapping[str, str] | None, name: str, default: int) -> int:
    """A positive whole number of requests per second from ``env[name]``, or ``default`` when unset."""
    env = os.environ if env is None else env
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}: must be a whole number of requests per second") from None
    if value < 1:
        raise SettingsError(f"{name}: must be at least 1 request per second")
    return value
