"""What CoinW does to positions: list, reverse, close, close all.

Each action runs under the state lock, so concurrent requests see it whole.
A market close fills at once; a plan close is recorded as a pending plan
order and leaves the position alone (the simulator has no market to trigger
it). ``closeRate`` closes ``currentPiece * closeRate`` exactly (no rounding to
whole contracts: a simulator choice).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.simulator.coinw.params import CloseRequest, invalid
from executor.simulator.coinw.protocol import CODE_POSITION_NOT_FOUND, VENUE, present_position
from executor.simulator.models import Order, Position, format_decimal, opposite
from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueError


def list_positions(state: SimulatorState, account: str, instrument: str,
                   ids: set[str] | None) -> list[dict[str, Any]]:
    """Open positions of one instrument, as the venue shows them."""
    positions = state.positions(VENUE, account, instrument)
    return [present_position(p) for p in positions if ids is None or p.id in ids]


def reverse(state: SimulatorState, account: str, position_id: str) -> str:
    """Close the position and open its size the other way under a new id."""
    with state.lock:
        old = _open_position(state, account, position_id)
        state.remove_position(VENUE, old.id)
        new = state.add_position(VENUE, account, old.instrument, opposite(old.direction),
                                 old.current_size, open_price=old.open_price,
                                 leverage=old.leverage, margin_mode=old.margin_mode)
        order = _order(state, account, "reverse", old, old.current_size,
                       position_ids=[old.id, new.id],
                       detail={"from_direction": old.direction, "to_direction": new.direction})
    return order.id


def close(state: SimulatorState, account: str, request: CloseRequest) -> str:
    """Close part or all of a position at market, or record a plan close."""
    with state.lock:
        position = _open_position(state, account, request.position_id)
        size = _close_size(position, request)
        detail = _close_detail(position, request)
        if request.plan:
            order = _order(state, account, "plan_close", position, size, status="pending",
                           price=request.order_price, detail=detail)
        else:
            _shrink(state, position, size)
            order = _order(state, account, "market_close", position, size, detail=detail)
    return order.id


def close_all(state: SimulatorState, account: str, instrument: str) -> str | None:
    """Close every open position of one instrument at market; None when there was none."""
    with state.lock:
        positions = state.positions(VENUE, account, instrument)
        if not positions:
            return None
        for position in positions:
            state.remove_position(VENUE, position.id)
        order = Order(VENUE, account, state.new_id(), "close_all", instrument.upper(),
                      [p.id for p in positions], sum((p.current_size for p in positions), Decimal(0)),
                      state.now())
        state.record_order(order)
    return order.id


def _open_position(state: SimulatorState, account: str, position_id: str) -> Position:
    position = state.position(VENUE, account, position_id)
    if position is None:
        raise VenueError(CODE_POSITION_NOT_FOUND, "position does not exist")
    return position


def _close_size(position: Position, request: CloseRequest) -> Decimal:
    if request.close_num is not None:
        if request.close_num > position.current_size:
            raise invalid("closeNum exceeds the position's currentPiece")
        return request.close_num
    assert request.close_rate is not None
    size = position.current_size * request.close_rate
    if size <= 0:
        raise invalid("closeRate closes nothing")
    return size


def _close_detail(position: Position, request: CloseRequest) -> dict[str, Any]:
    detail: dict[str, Any] = {"direction": position.direction}
    if request.close_num is not None:
        detail["close_num"] = format_decimal(request.close_num)
    if request.close_rate is not None:
        detail["close_rate"] = format_decimal(request.close_rate)
    return detail


def _shrink(state: SimulatorState, position: Position, size: Decimal) -> None:
    position.current_size -= size
    position.updated_at = state.now()
    if position.current_size <= 0:
        state.remove_position(VENUE, position.id)


def _order(state: SimulatorState, account: str, kind: str, position: Position, size: Decimal, *,
           position_ids: list[str] | None = None, status: str = "filled",
           price: Decimal | None = None, detail: dict[str, Any] | None = None) -> Order:
    order = Order(VENUE, account, state.new_id(), kind, position.instrument,
                  position_ids or [position.id], size, state.now(), status=status,
                  price=price, detail=detail or {})
    state.record_order(order)
    return order
