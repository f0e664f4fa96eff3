"""The simulator's in-memory world, shared by every venue module.

Everything is keyed by venue name ("coinw", "bitget", "crosstrade") and then
by account (the credential identity: an API key or a token), so venues added
later reuse the same store, control API, request log, faults and limits.
One re-entrant lock guards positions and orders; a venue module holds it while
it performs an action so each action is atomic.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping

from executor.simulator.faults import FaultBook
from executor.simulator.limits import SlidingWindowLimiter
from executor.simulator.models import (DEFAULT_LEVERAGE, DEFAULT_OPEN_PRICE, Order,
                                       Position)
from executor.simulator.requestlog import RequestLog

#: First id handed out; ids look like a venue's long numeric ids (19 digits).
FIRST_ID = 2_435_521_222_638_700_001

#: How many performed orders are kept for the control API.
MAX_ORDERS = 100_000

#: Default tolerance between a request's timestamp and the simulator clock.
DEFAULT_TIMESTAMP_WINDOW_S = 30.0


class Credentials:
    """One account's credential fields; ``repr`` shows the identity only."""

    __slots__ = ("venue", "identity", "_fields")

    def __init__(self, venue: str, identity: str, fields: Mapping[str, str]) -> None:
        self.venue = venue
        self.identity = identity
        self._fields = dict(fields)

    def field(self, name: str) -> str | None:
        return self._fields.get(name)

    def __repr__(self) -> str:
        return f"Credentials(venue={self.venue!r}, identity={self.identity!r})"


@dataclass
class SimulatorConfig:
    """Knobs changed through ``POST /_sim/config``."""

    enforce_limits: bool = True
    timestamp_window_s: float = DEFAULT_TIMESTAMP_WINDOW_S
    venue_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"enforce_limits": self.enforce_limits,
                "timestamp_window_s": self.timestamp_window_s,
                "venue_options": {k: dict(v) for k, v in self.venue_options.items()}}


class SimulatorState:
    """Thread-safe store of credentials, positions, orders, log, faults and limits.

    ``now`` is the simulator clock (epoch seconds); replace it in tests to
    move time without sleeping. The request log's ``received_at`` always uses
    the wall clock.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now: Callable[[], float] = now
        self.lock = threading.RLock()
        self.config = SimulatorConfig()
        self.requests = RequestLog()
        self.faults = FaultBook()
        self.limiter = SlidingWindowLimiter()
        self._credentials: dict[str, dict[str, Credentials]] = {}
        self._positions: dict[str, dict[str, Position]] = {}
        self._orders: deque[Order] = deque(maxlen=MAX_ORDERS)
        self._ids = itertools.count(FIRST_ID)

    def __repr__(self) -> str:
        with self.lock:
            counts = {venue: len(p) for venue, p in self._positions.items()}
        return f"SimulatorState(positions={counts}, requests={self.requests.last_seq()})"

    # credentials -----------------------------------------------------------
    def register_credentials(self, venue: str, identity: str, fields: Mapping[str, str]) -> None:
        """Accept requests signed with these credentials (replaces earlier ones)."""
        with self.lock:
            self._credentials.setdefault(venue, {})[identity] = Credentials(venue, identity, fields)

    def credentials(self, venue: str, identity: str) -> Credentials | None:
        return self._credentials.get(venue, {}).get(identity)

    # ids, positions, orders ----------------------------------------------------
    def new_id(self) -> str:
        """A fresh numeric id, unique across venues, positions and orders."""
        with self.lock:
            return str(next(self._ids))

    def add_position(self, venue: str, account: str, instrument: str, direction: str,
                     size: Decimal, *, open_price: Decimal | None = None,
                     leverage: int | None = None, margin_mode: int = 1) -> Position:
        """Open a position (as if an order had filled) and return it."""
        with self.lock:
            moment = self.now()
            position = Position(venue, account, self.new_id(), instrument.upper(), direction,
                                size, size, open_price if open_price is not None else DEFAULT_OPEN_PRICE,
                                leverage if leverage is not None else DEFAULT_LEVERAGE,
                                margin_mode, moment, moment)
            self._positions.setdefault(venue, {})[position.id] = position
            return position

    def position(self, venue: str, account: str, position_id: str) -> Position | None:
        """One open position of that account, or None."""
        position = self._positions.get(venue, {}).get(position_id)
        return position if position is not None and position.account == account else None

    def positions(self, venue: str, account: str | None = None,
                  instrument: str | None = None) -> list[Position]:
        """Open positions, oldest first, optionally of one account and instrument."""
        with self.lock:
            found = list(self._positions.get(venue, {}).values())
        wanted = instrument.upper() if instrument is not None else None
        return [p for p in found
                if (account is None or p.account == account)
                and (wanted is None or p.instrument == wanted)]

    def remove_position(self, venue: str, position_id: str) -> None:
        with self.lock:
            self._positions.get(venue, {}).pop(position_id, None)

    def record_order(self, order: Order) -> None:
        with self.lock:
            self._orders.append(order)

    def orders(self, venue: str, account: str | None = None,
               order_type: str | None = None) -> list[Order]:
        """Orders performed by a venue, oldest first."""
        with self.lock:
            found = list(self._orders)
        return [o for o in found
                if o.venue == venue
                and (account is None or o.account == account)
                and (order_type is None or o.type == order_type)]

    # control -----------------------------------------------------------------
    def venue_options(self, venue: str) -> dict[str, Any]:
        return self.config.venue_options.get(venue, {})

    def reset(self) -> None:
        """Forget positions, orders, requests, faults and rate windows.

        Registered credentials and the configuration are kept.
        """
        with self.lock:
            self._positions.clear()
            self._orders.clear()
        self.requests.clear()
        self.faults.clear()
        self.limiter.clear()
