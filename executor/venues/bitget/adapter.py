"""Bitget's domain face: read the position, then reverse or close it, never acting twice for one job.

Every order carries a clientOid derived from the job's idempotency key, the
same on every attempt. After a lost answer, ``reconcile`` asks the venue for
that clientOid; and when a resend is answered "duplicate clientOid", the order
it names is looked up and reported as done. Either way one job makes at most
one order. A flash close takes no clientOid: it is reconciled by the position.

A size the alert gives is fitted to the contract's metadata (``contracts``,
``sizes``). When the venue refuses a size as badly scaled (40808), the
metadata may have changed since it was cached: it is fetched again, and the
size fitted to it is sent once more if that differs (the refused request did
nothing, and a duplicate clientOid would be caught anyway).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from executor.domain import ActionResult, Alert, Position
from executor.errors import JobFailed, OutcomeUnknown
from executor.history import FOUND_DONE
from executor.venues.bitget import orders, positions, sizes
from executor.venues.bitget.client import BitgetClient
from executor.venues.bitget.codes import DuplicateClientOid, SizeScaleRejected, error_for
from executor.venues.bitget.contracts import ContractBook, ContractSpec
from executor.venues.spec import Journal

VENUE = "bitget"

#: Builds an order's body for the contract's rules (None when the size is the whole position).
BodyFor = Callable[[ContractSpec | None], dict[str, Any]]


class BitgetAdapter:
    def __init__(self, client: BitgetClient, contracts: ContractBook | None = None) -> None:
        self.client = client
        #: The contracts' size rules, cached for every job this adapter performs.
        self.contracts = contracts if contracts is not None else ContractBook(client.contracts)

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
        def body_for(contract: ContractSpec | None) -> dict[str, Any]:
            return orders.reverse_body(alert, position, sizes.reverse_size(alert, position, contract), oid)

        data, body, contract = self._send_sized(alert, position, oid, journal, body_for, self.client.click_backhand)
        detail = {"pos_mode": positions.pos_mode(position), "from_side": position.side, "size": body["size"],
                  "whole_position": Decimal(body["size"]) >= position.size, "side": body["side"],
                  "trade_side": body.get("tradeSide"), "client_oid": oid, **_rules(alert, contract)}
        return ActionResult(VENUE, "reverse", _text(data.get("orderId")), detail)

    def _close(self, alert: Alert, position: Position, oid: str, journal: Journal) -> ActionResult:
        if alert.qty is None and alert.ratio is None:
            journal.sending({"client_oid": None, "position_before": positions.record(position)})
            return self._flash_close(position)

        def body_for(contract: ContractSpec | None) -> dict[str, Any]:
            assert contract is not None
            return orders.reduce_body(position, sizes.close_size(alert, position, contract), oid)

        data, body, contract = self._send_sized(alert, position, oid, journal, body_for, self.client.place_order)
        order_id = _text(data.get("orderId")) or self._order_id_of(alert.symbol, oid)
        detail = {"close": "reduce_only", "pos_mode": positions.pos_mode(position), "hold_side": position.side,
                  "size": body["size"], "of_size": positions.size_text(position), "side": body["side"],
                  "trade_side": body.get("tradeSide"), "reduce_only": body.get("reduceOnly"), "client_oid": oid,
                  **_rules(alert, contract)}
        if alert.ratio is not None:
            detail["ratio"] = str(alert.ratio)
        return ActionResult(VENUE, "close", order_id, detail)

    def _send_sized(self, alert: Alert, position: Position, oid: str, journal: Journal, body_for: BodyFor,
                    send: Callable[[dict[str, Any]], dict[str, Any]]
                    ) -> tuple[dict[str, Any], dict[str, Any], ContractSpec | None]:
        """Send the order sized by the contract's rules; after a 40808, once more by freshly fetched rules."""
        contract = self.contracts.get(position.symbol) if sizes.needs_contract(alert) else None
        body = body_for(contract)
        in_flight = {"client_oid": oid, "position_before": positions.record(position)}
        journal.sending(in_flight)
        try:
            return send(dict(body)), body, contract
        except SizeScaleRejected:
            if contract is None:
                self.contracts.forget(position.symbol)
                raise
            fresh = self.contracts.refresh(position.symbol)
            again = body_for(fresh)
            if again["size"] == body["size"]:
                raise
        journal.note("contract_refreshed", {"refused_size": body["size"], "size": again["size"],
                                            "contract": fresh.to_record()})
        journal.sending(in_flight)
        return send(dict(again)), again, fresh

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


def _rules(alert: Alert, contract: ContractSpec | None) -> dict[str, Any]:
    """For the job's record: the contract rules a size the alert gave was fitted to, and that size as given."""
    if contract is None:
        return {}
    asked = {"qty_asked": str(alert.qty)} if alert.qty is not None else {}
    return {**asked, "contract": contract.to_record()}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

