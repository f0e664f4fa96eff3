"""The simulator's records: positions and orders, venue-neutral.

A venue module decides how these look on its wire; the store only keeps the
facts every venue shares (who owns it, which instrument, which way, how much).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Open price given to positions created without one (the simulator has no market).
DEFAULT_OPEN_PRICE = Decimal("50000")

#: Leverage given to positions created without one.
DEFAULT_LEVERAGE = 10

#: The two directions a position can have.
DIRECTIONS = ("long", "short")


def format_decimal(value: Decimal) -> str:
    """A decimal as a plain string without exponent or trailing zeros ("10", "0.5")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def opposite(direction: str) -> str:
    return "short" if direction == "long" else "long"


@dataclass
class Position:
    """One open position of one account on one venue."""

    venue: str
    account: str
    id: str
    instrument: str
    direction: str
    total_size: Decimal
    current_size: Decimal
    open_price: Decimal
    leverage: int
    margin_mode: int
    created_at: float
    updated_at: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Order:
    """Something a venue performed (or accepted, for a pending plan order)."""

    venue: str
    account: str
    id: str
    type: str
    instrument: str
    position_ids: list[str]
    size: Decimal
    time: float
    status: str = "filled"
    price: Decimal | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "api_key": self.account,
            "id": self.id,
            "type": self.type,
            "instrument": self.instrument,
            "position_ids": list(self.position_ids),
            "size": format_decimal(self.size),
            "price": format_decimal(self.price) if self.price is not None else None,
            "status": self.status,
            "time": self.time,
            **self.detail,
        }
