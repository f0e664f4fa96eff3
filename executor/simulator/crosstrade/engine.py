"""What CrossTrade does to positions: read, reverse, close, flatten everything.

NinjaTrader keeps one net position per account and instrument. Positions made
through the control API may name one contract several ways (``ES``,
``ESH26``, ``ES 03-26``) or come several times; the engine nets every stored
position that resolves to the same contract and writes the result back as one
position under the canonical name. Each action runs under the state lock.

- reverse: only when a position exists; closes it, then places the order. A
  MARKET order fills at once at the closed position's average price (there is
  no market); a LIMIT or STOP order is recorded as a ``working`` order and
  leaves the account flat in that instrument.
- close: ``quantity`` is capped at the open quantity; ``percent`` (when
  ``quantity`` is absent) is rounded UP to whole contracts; neither closes all.
- flatten (``POST /v1/api/positions/flatten``): closes every position of every
  account the token sees. It exists to be recorded; the product never sends it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from executor.simulator.crosstrade.instruments import FRONT_MONTH, canonical
from executor.simulator.crosstrade.params import CloseRequest, ReverseRequest
from executor.simulator.crosstrade.protocol import CODE_NO_POSITION, VENUE, position_view
from executor.simulator.models import Order, Position
from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueError


@dataclass
class Holding:
    """The net position of one account in one contract, with the stored positions it came from."""

    account: str
    instrument: str
    direction: str | None
    quantity: Decimal
    average_price: Decimal
    stored: list[Position]

    def view(self, quantity: Decimal | None = None) -> dict[str, Any]:
        shown = self.quantity if quantity is None else quantity
        return position_view(self.account, self.instrument, self.direction, shown, self.average_price)


def front_month(state: SimulatorState) -> str:
    return str(state.venue_options(VENUE).get("front_month", FRONT_MONTH))


def holding(state: SimulatorState, account: str, instrument: str) -> Holding:
    """The account's net position in the contract (direction None when flat)."""
    front = front_month(state)
    stored = [p for p in state.positions(VENUE)
              if p.account.casefold() == account.casefold() and canonical(p.instrument, front) == instrument]
    signed = sum((p.current_size if p.direction == "long" else -p.current_size for p in stored), Decimal(0))
    direction = None if signed == 0 else ("long" if signed > 0 else "short")
    price = stored[0].open_price if stored else Decimal(0)
    shown = stored[0].account if stored else account
    return Holding(shown, instrument, direction, abs(signed), price, stored)


def reverse(state: SimulatorState, account: str, request: ReverseRequest) -> str:
    """Close the position, then place the order; the order's id."""
    with state.lock:
        held = holding(state, account, request.instrument)
        if held.direction is None:
            raise VenueError(CODE_NO_POSITION, f"No position found for instrument '{request.instrument}' "
                                               f"in account '{account}'", 404)
        fills = request.order_type == "MARKET"
        direction = ("long" if request.action == "BUY" else "short") if fills else None
        _replace(state, held, direction, Decimal(request.quantity) if fills else Decimal(0))
        detail = {"action": request.action, "order_type": request.order_type,
                  "time_in_force": request.time_in_force, "from_direction": held.direction,
                  "closed_quantity": int(held.quantity), "limit_price": _text(request.limit_price),
                  "stop_price": _text(request.stop_price)}
        order = _order(state, held, "reverse", Decimal(request.quantity), detail,
                       status="filled" if fills else "working", price=request.limit_price or request.stop_price)
    return order.id


def close(state: SimulatorState, account: str, request: CloseRequest) -> dict[str, Any]:
    """Close part or all of the position at market; the closed part as CrossTrade shows it."""
    with state.lock:
        held = holding(state, account, request.instrument)
        if held.direction is None:
            raise VenueError(CODE_NO_POSITION, f"No positions found for instrument '{request.instrument}'", 404)
        size = _close_size(held.quantity, request)
        _replace(state, held, held.direction, held.quantity - size)
        detail = {"direction": held.direction, "quantity": request.quantity,
                  "percent": _text(request.percent)}
        _order(state, held, "close", size, detail)
    return held.view(size)


def flatten_all(state: SimulatorState, accounts: list[str] | None) -> list[dict[str, Any]]:
    """Close every position of these accounts (None: every account); what was closed."""
    wanted = {name.casefold() for name in accounts} if accounts is not None else None
    front = front_month(state)
    with state.lock:
        targets = {(p.account.casefold(), canonical(p.instrument, front) or p.instrument.upper())
                   for p in state.positions(VENUE) if wanted is None or p.account.casefold() in wanted}
        closed = []
        for account, instrument in sorted(targets):
            held = holding(state, account, instrument)
            if held.direction is None:
                continue
            _replace(state, held, None, Decimal(0))
            _order(state, held, "flatten", held.quantity, {"direction": held.direction})
            closed.append(held.view())
    return closed


def _close_size(open_quantity: Decimal, request: CloseRequest) -> Decimal:
    if request.quantity is not None:
        return min(Decimal(request.quantity), open_quantity)
    if request.percent is not None:
        return min(Decimal(math.ceil(open_quantity * request.percent)), open_quantity)
    return open_quantity


def _replace(state: SimulatorState, held: Holding, direction: str | None, quantity: Decimal) -> None:
    """Write the account's new net position in the contract back as one stored position."""
    for position in held.stored:
        state.remove_position(VENUE, position.id)
    if direction is not None and quantity > 0:
        state.add_position(VENUE, held.account, held.instrument, direction, quantity,
                           open_price=held.average_price)


def _order(state: SimulatorState, held: Holding, kind: str, size: Decimal, detail: dict[str, Any], *,
           status: str = "filled", price: Decimal | None = None) -> Order:
    order = Order(VENUE, held.account, state.new_id(), kind, held.instrument, [p.id for p in held.stored],
                  size, state.now(), status=status, price=price, detail=detail)
    state.record_order(order)
    return order


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None
