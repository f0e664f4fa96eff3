"""CoinW's domain face: find the position an alert means, then reverse or close it."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from executor.domain import ActionResult, Alert, Position
from executor.errors import AmbiguousPosition, JobFailed, PositionNotFound
from executor.venues.coinw.client import CoinWClient
from executor.venues.spec import Journal

VENUE = "coinw"


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
        if alert.action == "reverse":
            order_id = self.client.reverse(position.position_id or "")
            detail = {"reversed_position_id": position.position_id, "size": str(position.size),
                      "from_side": position.side}
        else:
            order_id, detail = self._close(alert, position)
        return ActionResult(VENUE, alert.action, order_id, detail)

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
