"""Domain types shared by the intake, the actions and the venue adapters."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

VENUES = ("coinw", "bitget", "crosstrade")
ACTIONS = ("reverse", "close")
#: Where an alert may say the position should be (``{{strategy.market_position}}``).
MARKET_POSITIONS = ("long", "short", "flat")


@dataclass(frozen=True)
class Alert:
    """A validated alert, without its secret. ``to_job()`` gives the plain JSON a job carries.

    It carries either an ``action`` or a target ``market_position`` (with, optionally, the position the
    sender believes it leaves, ``prev_market_position``); never both.
    """

    venue: str
    symbol: str
    action: str | None = None
    id: str | None = None
    position_id: str | None = None
    qty: Decimal | None = None
    ratio: Decimal | None = None
    price: Decimal | None = None
    side: str | None = None
    account: str | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    sent_at: str | None = None
    raw_symbol: str | None = None
    market_position: str | None = None
    prev_market_position: str | None = None

    def describe(self) -> str:
        """``reverse coinw BTC``, ``to short bitget BTCUSDT``, with the account when one is named."""
        what = self.action or f"to {self.market_position}"
        account = f" ({self.account})" if self.account else ""
        return f"{what} {self.venue} {self.symbol}{account}"

    def to_job(self) -> dict[str, Any]:
        """Plain JSON: decimals as strings, absent fields left out."""
        return {key: _plain(value) for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_job(cls, data: dict[str, Any]) -> Alert:
        values = dict(data)
        for name in ("qty", "ratio", "price", "limit_price", "stop_price"):
            if values.get(name) is not None:
                values[name] = Decimal(values[name])
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in values.items() if key in known})


@dataclass(frozen=True)
class Position:
    """One open position as a venue reports it, in our words."""

    venue: str
    symbol: str
    position_id: str | None
    side: str  # "long" or "short"
    size: Decimal
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_record(self) -> dict[str, Any]:
        return {"position_id": self.position_id, "symbol": self.symbol, "side": self.side, "size": str(self.size)}


@dataclass(frozen=True)
class ActionResult:
    """What a venue answered to a performed action: the job's result."""

    venue: str
    action: str | None  # None when nothing was sent: the position was already where the alert wanted it
    order_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {"venue": self.venue, "action": self.action, "order_id": self.order_id, **self.detail}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
