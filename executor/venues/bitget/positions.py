"""Reading Bitget's single-position answer and choosing the one position an alert means."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from executor.domain import Alert, Position
from executor.errors import AmbiguousPosition, PositionNotFound

VENUE = "bitget"

#: ``posMode`` values: hedge mode holds a long and a short at once; one-way mode holds one net position.
HEDGE_MODE = "hedge_mode"
ONE_WAY_MODE = "one_way_mode"


def to_position(raw: dict[str, Any]) -> Position:
    """A row of single-position in our words; ``total`` is the size (numbers come as strings)."""
    return Position(
        venue=VENUE,
        symbol=str(raw.get("symbol", "")).upper(),
        position_id=None,  # Bitget names a position by symbol and holdSide, not by an id
        side=str(raw.get("holdSide", "")).lower(),
        size=_decimal(raw.get("total")),
        raw=raw,
    )


def pos_mode(position: Position) -> str:
    """The account's position mode as the position read reported it (one-way when it says nothing)."""
    mode = str(position.raw.get("posMode") or ONE_WAY_MODE)
    return HEDGE_MODE if mode == HEDGE_MODE else ONE_WAY_MODE


def margin_mode(position: Position) -> str:
    mode = str(position.raw.get("marginMode") or "crossed")
    return mode if mode in ("isolated", "crossed") else "crossed"


def size_text(position: Position) -> str:
    """The size exactly as the venue wrote it, for the job's record (the contract's metadata decides rounding)."""
    return str(position.raw.get("total", position.size))


def record(position: Position) -> dict[str, Any]:
    """What the job's history keeps of the position it acted on."""
    return {**position.to_record(), "pos_mode": pos_mode(position), "margin_mode": margin_mode(position),
            "available": str(position.raw.get("available", ""))}


def choose(alert: Alert, rows: list[dict[str, Any]]) -> Position:
    """The one open position the alert means; never a guess between a long and a short."""
    positions = [p for p in (to_position(row) for row in rows) if p.size > 0 and p.side in ("long", "short")]
    if alert.side:
        matching = [p for p in positions if p.side == alert.side]
        if not matching:
            found = f" (open: {describe(positions)})" if positions else ""
            raise PositionNotFound(f"Bitget has no open {alert.side} {alert.symbol} position{found}")
        return matching[0]
    if not positions:
        raise PositionNotFound(f"Bitget has no open {alert.symbol} position")
    if len(positions) > 1:
        raise AmbiguousPosition(
            f"Bitget has {len(positions)} open {alert.symbol} positions (hedge mode): {describe(positions)}; "
            "say which one with side (long or short)")
    return positions[0]


def describe(positions: list[Position]) -> str:
    return ", ".join(f"{p.side} {p.size}" for p in positions)


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)
