"""Bitget's domain face: read the position, then reverse or close it, never acting twice for one job.

Every order carries a clientOid derived from the job's idempotency key, the
same on every attempt. After a lost answer, ``reconcile`` asks the venue for
that clientOid; and when a resend is answered "duplicate clientOid", the order
it names is looked up and reported as done. Either way one job makes at most
one order. A flash close takes no clientOid: it is reconciled by the position.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.domain import ActionResult, Alert, Position
from executor.errors import JobFailed, OutcomeUnknown
from executor.history import FOUND_DONE
from executor.venues.bitget import orders, positions
from executor.venues.bitget.client import BitgetClient
from executor.venues.bitget.codes import DuplicateClientOid, error_for
from executor.venues.spec import Journal

VENUE = "bitget"


class BitgetAdapter:
    def __init__(self, client: BitgetClient) -> None:
        self.client = client

    def perform(self, alert: Alert, journal: Journal) -> ActionResult:
        oid = orders.client_oid(journal.idempotency_key, alert.action)
        position = positions.choose(alert, self.client.single_position(alert.symbol))
        journal.note("position_before", positions.record(position))
        try:
            if alert.action == "reverse":
                return self._reverse(alert, position, oid, journal)
            return self._close(alert, position, oid, journal)
        except DuplicateClientOid:
            return self._already_done(alert, oid, journal)

    def _reverse(self, alert: Alert, position: Position, oid: str, journal: Journal) -> ActionResult:
        size = orders.reverse_size(alert, position)
        body = orders.reverse_body(alert, position, size, oid)
        journal.sending({"client_oid": oid, "position_before": positions.record(position)})
        data = self.client.click_backhand(dict(body))
        detail = {"pos_mode": positions.pos_mode(position), "from_side": position.side, "size": body["size"],
                  "whole_position": size >= position.size, "side": body["side"],
                  "trade_side": body.get("tradeSide"), "client_oid": oid}
        return ActionResult(VENUE, "reverse", _text(data.get("orderId")), detail)

    def _close(self, alert: Alert, position: Position, oid: str, journal: Journal) -> ActionResult:
        if alert.qty is None and alert.ratio is None:
            journal.sending({"client_oid": None, "position_before": positions.record(position)})
            return self._flash_close(position)
        size = orders.close_size(alert, position)
        body = orders.reduce_body(position, size, oid)
        journal.sending({"client_oid": oid, "position_before": positions.record(position)})
        data = self.client.place_order(dict(body))
        order_id = _text(data.get("orderId")) or self._order_id_of(alert.symbol, oid)
        detail = {"close": "reduce_only", "pos_mode": positions.pos_mode(position), "hold_side": position.side,
                  "size": body["size"], "of_size": positions.size_text(position), "side": body["side"],
                  "trade_side": body.get("tradeSide"), "reduce_only": body.get("reduceOnly"), "client_oid": oid}
        if alert.ratio is not None:
            detail["ratio"] = str(alert.ratio)
        return ActionResult(VENUE, "close", order_id, detail)

    def _flash_close(self, position: Position) -> ActionResult:
        """The whole position of that side at market (close-positions takes no clientOid)."""
        data = self.client.close_positions(position.symbol, position.side)
        succeeded = [row for row in data.get("successList") or [] if isinstance(row, dict)]
        failed = [row for row in data.get("failureList") or [] if isinstance(row, dict)]
        if failed and not succeeded:
            first = failed[0]
            raise error_for(first.get("errorCode"), str(first.get("errorMsg") or ""), 200)
        order_id = _text(succeeded[0].get("orderId")) if succeeded else None
        detail = {"close": "flash", "pos_mode": positions.pos_mode(position), "hold_side": position.side,
                  "size": positions.size_text(position)}
        return ActionResult(VENUE, "close", order_id, detail)

    def open_positions(self, alert: Alert) -> list[Position]:
        """The open positions of the symbol: one in one-way mode, up to a long and a short in hedge mode."""
        rows = self.client.single_position(alert.symbol)
        return [p for p in map(positions.to_position, rows) if p.size > 0 and p.side in ("long", "short")]

    def reconcile(self, alert: Alert, in_flight: dict[str, Any]) -> ActionResult | None:
        """After a lost answer: the order under the job's clientOid, or for a flash close the position.

        None means the venue shows nothing done (sending again is safe: a duplicate clientOid is refused).
        """
        oid = in_flight.get("client_oid")
        if oid:
            found = self.client.order_detail(alert.symbol, client_oid=oid)
            return _found(alert, oid, found) if found is not None else None
        before = in_flight["position_before"]
        rows = self.client.single_position(alert.symbol)
        now = [p for p in map(positions.to_position, rows) if p.side == before["side"] and p.size > 0]
        if not now:
            return ActionResult(VENUE, "close", None, {"close": "flash", "hold_side": before["side"],
                                                       "size": before["size"], "outcome": FOUND_DONE})
        if now[0].size == Decimal(before["size"]):
            return None
        raise OutcomeUnknown(VENUE, None, f"cannot tell whether the {before['side']} {alert.symbol} position was "
                                          f"flash closed: it went from {before['size']} to {now[0].size}")

    def _already_done(self, alert: Alert, oid: str, journal: Journal) -> ActionResult:
        found = self.client.order_detail(alert.symbol, client_oid=oid)
        if found is None:
            raise JobFailed(f"Bitget says an order with clientOid {oid} exists but cannot find it; "
                            "check the account before replaying this alert")
        journal.note("found_on_venue", {"client_oid": oid, "order_id": found.get("orderId")})
        return _found(alert, oid, found)

    def _order_id_of(self, symbol: str, oid: str) -> str | None:
        """One-way reduce-only answers may lack the orderId; the clientOid finds it."""
        found = self.client.order_detail(symbol, client_oid=oid)
        return _text(found.get("orderId")) if found else None


def _found(alert: Alert, oid: str, order: dict[str, Any]) -> ActionResult:
    detail = {"outcome": FOUND_DONE, "client_oid": oid,
              "order": {key: order.get(key) for key in ("state", "size", "side", "tradeSide", "reduceOnly",
                                                        "orderType", "posSide", "cTime") if key in order}}
    return ActionResult(VENUE, alert.action, _text(order.get("orderId")), detail)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

