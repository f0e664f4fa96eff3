"""What Bitget does to positions: read, reverse (click-backhand), flash close, place orders, look orders up.

Each action runs under the state lock, so concurrent requests see it whole,
and a duplicate clientOid or a size the contract does not allow (see
``contracts``) is refused before anything is done. Market orders
fill at once at the position's price (the simulator has no market); a limit
order is recorded as ``live`` and left alone.

Position mode (per API key, the credential field ``pos_mode``): in one-way
mode a symbol has one net position; in hedge mode a long and a short, and
``side`` names the position (``buy`` = the long).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.simulator.bitget import contracts
from executor.simulator.bitget import protocol as p
from executor.simulator.bitget.params import OrderRequest
from executor.simulator.models import Order, Position, opposite
from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueError

HEDGE = "hedge_mode"
ONE_WAY = "one_way_mode"


def account_mode(state: SimulatorState, account: str) -> str:
    """The account's position mode: ``pos_mode`` of its credentials, one-way unless it says hedge."""
    credentials = state.credentials(p.VENUE, account)
    mode = str(credentials.field("pos_mode") or "") if credentials is not None else ""
    return HEDGE if mode.lower() in ("hedge_mode", "hedge") else ONE_WAY


def single_position(state: SimulatorState, account: str, symbol: str) -> list[dict[str, Any]]:
    mode = account_mode(state, account)
    return [p.present_position(position, mode) for position in state.positions(p.VENUE, account, symbol)]


def reverse(state: SimulatorState, account: str, request: OrderRequest) -> dict[str, Any]:
    """Close (part of) a position and open the same size the other way."""
    with state.lock:
        _refuse_duplicate(state, account, request.client_oid)
        if request.size is not None:
            contracts.check_size(state, request.symbol, request.size)
        mode = account_mode(state, account)
        position = _reversal_target(state, account, request, mode)
        size = position.current_size
        if mode == HEDGE and request.size is not None:
            size = min(request.size, position.current_size)  # at or above the position: all of it
        _shrink(state, position, size)
        _grow(state, account, position, opposite(position.direction), size)
        order = _record(state, account, "reverse", position, size, request, mode,
                        {"from_side": position.direction, "to_side": opposite(position.direction)})
    return {"orderId": order.id, "clientOid": request.client_oid}


def flash_close(state: SimulatorState, account: str, symbol: str, hold_side: str | None) -> dict[str, Any]:
    """Close whole positions at market: one side in hedge mode when named, else every one of the symbol."""
    with state.lock:
        mode = account_mode(state, account)
        targets = state.positions(p.VENUE, account, symbol)
        if mode == HEDGE and hold_side is not None:
            targets = [t for t in targets if t.direction == hold_side]
        if not targets:
            raise VenueError(p.CODE_NO_POSITION_TO_CLOSE, "No position to close")
        done = []
        for position in targets:
            state.remove_position(p.VENUE, position.id)
            request = OrderRequest(symbol, None, None, position.current_size, None)
            order = _record(state, account, "flash_close", position, position.current_size, request, mode,
                            {"holdSide": position.direction})
            done.append({"orderId": order.id, "clientOid": None, "symbol": position.instrument})
    return {"successList": done, "failureList": []}


def place_order(state: SimulatorState, account: str, request: OrderRequest) -> dict[str, Any]:
    """A market order fills at once; a limit order waits (``live``) without touching the position."""
    with state.lock:
        _refuse_duplicate(state, account, request.client_oid)
        assert request.size is not None
        contracts.check_size(state, request.symbol, request.size)
        mode = account_mode(state, account)
        if mode == HEDGE and request.trade_side is None:
            raise VenueError(p.CODE_POSITION_MODE, "tradeSide is required in hedge mode")
        if request.order_type == "limit":
            order = _limit(state, account, request, mode)
        elif _is_close(request, mode):
            order = _close(state, account, request, mode)
        else:
            order = _open(state, account, request, mode)
    return {"orderId": order.id, "clientOid": request.client_oid}


def order_detail(state: SimulatorState, account: str, symbol: str, order_id: str | None,
                 client_oid: str | None) -> dict[str, Any]:
    for order in reversed(state.orders(p.VENUE, account)):
        same = order.id == order_id if order_id else order.detail.get("clientOid") == client_oid
        if same and order.instrument == symbol:
            return p.present_order(order)
    raise VenueError(p.order_not_found_code(state.venue_options(p.VENUE)),
                     "The data of the order cannot be found, please confirm the order number")


def _refuse_duplicate(state: SimulatorState, account: str, client_oid: str | None) -> None:
    if client_oid is None:
        return
    if any(order.detail.get("clientOid") == client_oid for order in state.orders(p.VENUE, account)):
        raise VenueError(p.CODE_DUPLICATE_CLIENT_OID, "Duplicate clientOid")


def _reversal_target(state: SimulatorState, account: str, request: OrderRequest, mode: str) -> Position:
    positions = state.positions(p.VENUE, account, request.symbol)
    if mode == HEDGE:
        if request.trade_side is None:
            raise VenueError(p.CODE_POSITION_MODE, "tradeSide is required in hedge mode")
        if request.side is None:
            raise VenueError(p.CODE_MISSING_PARAMETER, "Parameter side cannot be empty")
        wanted = "long" if request.side == "buy" else "short"
        positions = [position for position in positions if position.direction == wanted]
    elif request.trade_side is not None:
        raise VenueError(p.CODE_POSITION_MODE, "Do not send tradeSide in one-way mode")
    if not positions:
        raise VenueError(p.CODE_NO_POSITION_AVAILABLE, "Not enough position is available.")
    return positions[0]


def _is_close(request: OrderRequest, mode: str) -> bool:
    return request.trade_side == "close" if mode == HEDGE else request.reduce_only


def _close(state: SimulatorState, account: str, request: OrderRequest, mode: str) -> Order:
    """Hedge: ``side`` names the position closed; one-way reduce-only: ``side`` is opposite to it."""
    assert request.size is not None and request.side is not None
    side_closed = "long" if request.side == "buy" else "short"
    if mode == ONE_WAY:
        side_closed = opposite(side_closed)
    matching = [t for t in state.positions(p.VENUE, account, request.symbol) if t.direction == side_closed]
    if not matching:
        raise VenueError(p.CODE_NO_POSITION_TO_CLOSE, "No position to close")
    position = matching[0]
    if request.size > position.current_size:
        raise VenueError(p.CODE_SIZE_ABOVE_POSITION, "The order size exceeds the position size")
    _shrink(state, position, request.size)
    return _record(state, account, "close", position, request.size, request, mode, {"holdSide": side_closed})


def _open(state: SimulatorState, account: str, request: OrderRequest, mode: str) -> Order:
    """Open or add; in one-way mode an order against the position nets it first."""
    assert request.size is not None and request.side is not None
    direction = "long" if request.side == "buy" else "short"
    remaining = request.size
    if mode == ONE_WAY:
        for position in state.positions(p.VENUE, account, request.symbol):
            if position.direction != direction and remaining > 0:
                netted = min(remaining, position.current_size)
                _shrink(state, position, netted)
                remaining -= netted
    position = _grow(state, account, None, direction, remaining, symbol=request.symbol,
                     margin_mode=0 if request.margin_mode == "isolated" else 1)
    return _record(state, account, "open", position, request.size, request, mode, {"holdSide": direction})


def _limit(state: SimulatorState, account: str, request: OrderRequest, mode: str) -> Order:
    assert request.size is not None
    order = Order(p.VENUE, account, state.new_id(), "limit", request.symbol, [], request.size, state.now(),
                  status="live", price=request.price, detail=_order_detail(request, mode))
    state.record_order(order)
    return order


def _shrink(state: SimulatorState, position: Position, size: Decimal) -> None:
    position.current_size -= size
    position.updated_at = state.now()
    if position.current_size <= 0:
        state.remove_position(p.VENUE, position.id)


def _grow(state: SimulatorState, account: str, like: Position | None, direction: str, size: Decimal, *,
          symbol: str | None = None, margin_mode: int = 1) -> Position:
    """Add ``size`` to the account's ``direction`` position of the symbol, opening it when there is none."""
    symbol = like.instrument if like is not None else symbol or ""
    for position in state.positions(p.VENUE, account, symbol):
        if position.direction == direction:
            position.current_size += size
            position.total_size += size
            position.updated_at = state.now()
            return position
    if like is not None:
        return state.add_position(p.VENUE, account, symbol, direction, size, open_price=like.open_price,
                                  leverage=like.leverage, margin_mode=like.margin_mode)
    if size <= 0:
        return Position(p.VENUE, account, "", symbol, direction, size, size, Decimal(0), 1, margin_mode,
                        state.now(), state.now())
    return state.add_position(p.VENUE, account, symbol, direction, size, margin_mode=margin_mode)


def _order_detail(request: OrderRequest, mode: str) -> dict[str, Any]:
    return {"clientOid": request.client_oid, "side": request.side, "tradeSide": request.trade_side,
            "reduceOnly": "YES" if request.reduce_only else "NO", "orderType": request.order_type,
            "marginMode": request.margin_mode, "posMode": mode}


def _record(state: SimulatorState, account: str, kind: str, position: Position, size: Decimal,
            request: OrderRequest, mode: str, extra: dict[str, Any]) -> Order:
    detail = {**_order_detail(request, mode), "posSide": position.direction,
              "priceAvg": str(position.open_price), **extra}
    order = Order(p.VENUE, account, state.new_id(), kind, position.instrument, [position.id] if position.id else [],
                  size, state.now(), detail=detail)
    state.record_order(order)
    return order
