"""CoinW's domain face: find the position an alert means, then reverse or close it."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.domain import ActionResult, Alert, Position
from executor.errors import AmbiguousPosition, JobFailed, OutcomeUnknown, PositionNotFound
from executor.history import FOUND_DONE
from executor.venues.coinw.client import CoinWClient
from executor.venues.spec import Journal

VENUE = "coinw"


def _describe(positions: list[Position]) -> str:
    return ", ".join(f"{p.position_id} {p.side} {p.size}" for p in positions) or "no open position"


def to_position(raw: dict[str, Any]) -> Position:
    return Position(
        venue=VENUE,
        symbol=str(raw.get("instrument", "")).upper(),
        position_id=str(raw.get("id")),
        side=str(raw.get("direction", "")).lower(),
        size=Decimal(str(raw.get("currentPiece", "0"))),
        raw=raw,
    )


class CoinWAdapter:
    def __init__(self, client: CoinWClient) -> None:
        self.client = client

    def perform(self, alert: Alert, journal: Journal) -> ActionResult:
        position = self.target_position(alert)
        journal.note("position_before", position.to_record())
        journal.sending({"position_before": position.to_record()})
        if alert.action == "reverse":
            order_id = self.client.reverse(position.position_id or "")
            detail = {"reversed_position_id": position.position_id, "size": str(position.size),
                      "from_side": position.side}
        else:
            order_id, detail = self._close(alert, position)
        return ActionResult(VENUE, alert.action, order_id, detail)

    def reconcile(self, alert: Alert, in_flight: dict[str, Any]) -> ActionResult | None:
        """CoinW has no client order id: compare the position an earlier attempt acted on with what is open now.

        A reversed position is gone and one of the same size stands the other way under a new id;
        a closed one is gone or smaller by the closed amount. Unchanged means not done.
        """
        before = in_flight["position_before"]
        size = Decimal(before["size"])
        positions = [to_position(raw) for raw in self.client.positions(alert.symbol)]
        same = next((p for p in positions if p.position_id == before["position_id"]), None)
        if same is not None and same.side == before["side"] and same.size == size:
            return None
        if alert.action == "reverse":
            return self._reversal_found(alert, before, positions, same)
        return self._close_found(alert, before, size, same)

    def _reversal_found(self, alert: Alert, before: dict[str, Any], positions: list[Position],
                        same: Position | None) -> ActionResult:
        opposite = "short" if before["side"] == "long" else "long"
        flipped = [p for p in positions if p.position_id != before["position_id"] and p.side == opposite
                   and p.size == Decimal(before["size"])]
        if same is None and len(flipped) == 1:
            return ActionResult(VENUE, "reverse", None, {
                "reversed_position_id": before["position_id"], "new_position_id": flipped[0].position_id,
                "size": before["size"], "from_side": before["side"], "outcome": FOUND_DONE})
        raise OutcomeUnknown(VENUE, None, f"cannot tell whether position {before['position_id']} was reversed: "
                                          f"now {_describe(positions)}")

    def _close_found(self, alert: Alert, before: dict[str, Any], size: Decimal, same: Position | None) -> ActionResult:
        if alert.price is not None:
            raise OutcomeUnknown(VENUE, None, "a plan close leaves the position as it was; "
                                              "check the venue's plan orders by hand")
        closed = alert.qty if alert.qty is not None else size * (alert.ratio or Decimal(1))
        left = same.size if same is not None else Decimal(0)
        if left == size - closed or (same is None and closed >= size):
            return ActionResult(VENUE, "close", None, {"position_id": before["position_id"], "closed": str(closed),
                                                       "left": str(left), "outcome": FOUND_DONE})
        raise OutcomeUnknown(VENUE, None, f"position {before['position_id']} went from {size} to {left}, "
                                          f"not the {size - closed} a close of {closed} leaves")

    def open_positions(self, alert: Alert) -> list[Position]:
        """Every open position of the alert's instrument (CoinW may hold several); a read only."""
        return [to_position(raw) for raw in self.client.positions(alert.symbol)]

    def target_position(self, alert: Alert) -> Position:
        """The one open position the alert means; never a guess between several."""
        ids = [alert.position_id] if alert.position_id else None
        positions = [to_position(raw) for raw in self.client.positions(alert.symbol, ids)]
        if alert.position_id:
            positions = [p for p in positions if p.position_id == alert.position_id]
            if not positions:
                raise PositionNotFound(f"CoinW has no open {alert.symbol} position with id {alert.position_id}")
            return positions[0]
        if not positions:
            raise PositionNotFound(f"CoinW has no open {alert.symbol} position")
        if len(positions) > 1:
            found = ", ".join(f"{p.position_id} ({p.side} {p.size})" for p in positions)
            raise AmbiguousPosition(
                f"CoinW has {len(positions)} open {alert.symbol} positions: {found}; "
                "say which one with position_id")
        return positions[0]

    def _close(self, alert: Alert, position: Position) -> tuple[str, dict[str, Any]]:
        price = str(alert.price) if alert.price is not None else None
        detail: dict[str, Any] = {"position_id": position.position_id, "plan_price": price}
        if alert.qty is not None:
            if alert.qty > position.size:
                raise JobFailed(f"close qty {alert.qty} exceeds the open CoinW position "
                                f"{position.position_id} of {position.size}")
            detail["close_num"] = str(alert.qty)
            order_id = self.client.close(position.position_id or "", close_num=str(alert.qty), order_price=price)
        else:
            rate = alert.ratio if alert.ratio is not None else Decimal(1)
            detail["close_rate"] = str(rate)
            order_id = self.client.close(position.position_id or "", close_rate=str(rate), order_price=price)
        return order_id, detail
