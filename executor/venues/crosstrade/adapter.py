"""CrossTrade's domain face: read the account's position in the instrument, then reverse or close it.

Every request names its account and instrument, and every size is sent
explicitly (a full close sends the open quantity), so nothing depends on a
default CrossTrade leaves unstated. A flat position fails the job before
anything is sent. Just before the request that acts, the position seen and
the request are recorded, so a lost answer is reconciled from the position.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.domain import ActionResult, Alert, Position
from executor.errors import JobFailed, PositionNotFound
from executor.venues.crosstrade.client import CrossTradeClient
from executor.venues.crosstrade.codes import VENUE
from executor.venues.crosstrade.instruments import wire_instrument
from executor.venues.crosstrade.reconcile import Holding, judge
from executor.venues.spec import Journal

#: CrossTrade's ``marketPosition`` in our words; Flat (or anything else) means no position.
SIDES = {"long": "long", "short": "short"}
#: The action that turns each side around.
OPPOSITE_ACTION = {"long": "SELL", "short": "BUY"}
#: Alert fields passed through as order prices.
PRICE_FIELDS = (("limit_price", "limitPrice"), ("stop_price", "stopPrice"))


class CrossTradeAdapter:
    def __init__(self, client: CrossTradeClient) -> None:
        self.client = client

    def perform(self, alert: Alert, journal: Journal) -> ActionResult:
        account, instrument = _target(alert)
        position = self.open_position(account, instrument)
        before = _record(position, account, instrument)
        journal.note("position_before", before)
        if alert.action == "reverse":
            request = reverse_order(alert, instrument, position)
            journal.sending({"position_before": before, "request": request})
            answer = self.client.reverse_position(account, request)
            detail = {"account": account, "from_side": position.side, "from_size": str(position.size), **request}
        else:
            request = close_order(alert, instrument, position)
            journal.sending({"position_before": before, "request": request})
            answer = self.client.close_position(account, request)
            detail = {"account": account, "side": position.side, "open_size": str(position.size), **request,
                      "closed": [_closed(raw) for raw in answer.get("closedPositions") or []]}
        return ActionResult(VENUE, alert.action, _order_id(answer), detail)

    def reconcile(self, alert: Alert, in_flight: dict[str, Any]) -> ActionResult | None:
        """After a lost answer: the result if the position shows the action done, None if it shows it not done."""
        account, instrument = _target(alert)
        try:
            position = self.open_position(account, instrument)
            now: Holding = (position.side, position.size)
        except PositionNotFound:
            now = (None, Decimal(0))
        return judge(alert.action, in_flight, now)

    def open_positions(self, alert: Alert) -> list[Position]:
        """The account's net position in the instrument (NinjaTrader keeps one), none when flat; a read only."""
        account, instrument = _target(alert)
        try:
            return [self.open_position(account, instrument)]
        except PositionNotFound:
            return []

    def open_position(self, account: str, instrument: str) -> Position:
        """The account's open position in the instrument; ``PositionNotFound`` when flat."""
        raw = self.client.position(account, instrument)
        side = SIDES.get(str(raw.get("marketPosition", "")).lower())
        size = abs(Decimal(str(raw.get("quantity") or 0)))
        if side is None or size == 0:
            raise PositionNotFound(f"CrossTrade has no open {instrument} position in account {account}")
        return Position(VENUE, str(raw.get("instrument") or instrument), None, side, size, raw=raw)


def reverse_order(alert: Alert, instrument: str, position: Position) -> dict[str, Any]:
    """The reverseposition body: the opposite side unless the alert names one, the position's size unless qty."""
    order: dict[str, Any] = {
        "instrument": instrument,
        "action": alert.side or OPPOSITE_ACTION[position.side],
        "quantity": int(alert.qty if alert.qty is not None else position.size),
        "orderType": alert.order_type or "MARKET",
        "timeInForce": alert.time_in_force or "DAY",
    }
    for name, wire_name in PRICE_FIELDS:
        if getattr(alert, name) is not None:
            order[wire_name] = _number(getattr(alert, name))
    return order


def close_order(alert: Alert, instrument: str, position: Position) -> dict[str, Any]:
    """The close body: ``percent`` for a ratio, else ``quantity`` (the whole open quantity when none is given)."""
    if alert.ratio is not None:
        return {"instrument": instrument, "percent": _number(alert.ratio)}
    if alert.qty is not None and alert.qty > position.size:
        raise JobFailed(f"close qty {alert.qty} exceeds the open CrossTrade {instrument} position of "
                        f"{position.size} in account {alert.account}")
    return {"instrument": instrument, "quantity": int(alert.qty if alert.qty is not None else position.size)}


def _target(alert: Alert) -> tuple[str, str]:
    """(account, instrument as sent): the ticker as written, so ``ES1!`` stays ``ES1!``."""
    if not alert.account:
        raise JobFailed("the alert names no CrossTrade account (the intake should have filled it in)")
    return alert.account, wire_instrument(alert.raw_symbol or alert.symbol)


def _record(position: Position, account: str, instrument: str) -> dict[str, Any]:
    """What reconciliation compares against: the house's side/size plus CrossTrade's own words."""
    return {**position.to_record(), "account": account, "instrument": instrument,
            "direction": position.side, "quantity": str(position.size),
            "average_price": position.raw.get("averagePrice")}


def _closed(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    return {"instrument": raw.get("instrument"), "market_position": raw.get("marketPosition"),
            "quantity": raw.get("quantity")}


def _order_id(answer: dict[str, Any]) -> str | None:
    order_id = answer.get("orderId")
    return str(order_id) if order_id not in (None, "") else None


def _number(value: Decimal) -> int | float:
    """A JSON number: whole values as integers; prices as floats (repr round-trips a price exactly)."""
    return int(value) if value == value.to_integral_value() else float(value)
