"""Turning CrossTrade request bodies into typed values, with CrossTrade-shaped errors."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from executor.simulator.crosstrade.instruments import canonical
from executor.simulator.crosstrade.protocol import CODE_INVALID_INSTRUMENT, invalid
from executor.simulator.venue import VenueError

ACTIONS = ("BUY", "SELL")
#: Order types and the prices each requires.
ORDER_TYPES = {"MARKET": (), "LIMIT": ("limitPrice",), "STOPMARKET": ("stopPrice",),
               "STOPLIMIT": ("limitPrice", "stopPrice")}
TIMES_IN_FORCE = ("DAY", "GTC")


@dataclass(frozen=True)
class ReverseRequest:
    instrument: str
    action: str
    quantity: int
    order_type: str
    time_in_force: str
    limit_price: Decimal | None
    stop_price: Decimal | None


@dataclass(frozen=True)
class CloseRequest:
    instrument: str
    quantity: int | None
    percent: Decimal | None


def json_body(text: str) -> dict[str, Any]:
    """The body's JSON object ({} when empty)."""
    if not text.strip():
        return {}
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise invalid("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body must be a JSON object")
    return body


def instrument(value: Any, front_month: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("instrument is required")
    name = canonical(value, front_month)
    if name is None:
        raise VenueError(CODE_INVALID_INSTRUMENT, f"Instrument '{value}' not found", 400)
    return name


def reverse_request(body: dict[str, Any], front_month: str) -> ReverseRequest:
    order_type = _word(body, "orderType", tuple(ORDER_TYPES))
    prices = {name: _price(body, name, required=name in ORDER_TYPES[order_type])
              for name in ("limitPrice", "stopPrice")}
    return ReverseRequest(instrument(body.get("instrument"), front_month), _word(body, "action", ACTIONS),
                          _quantity(body, required=True) or 0, order_type,
                          _word(body, "timeInForce", TIMES_IN_FORCE), prices["limitPrice"], prices["stopPrice"])


def close_request(body: dict[str, Any], front_month: str) -> CloseRequest:
    percent = None
    if body.get("percent") is not None:
        percent = _number(body["percent"], "percent")
        if not 0 < percent <= 1:
            raise invalid("percent must be a fraction greater than 0 and at most 1")
    return CloseRequest(instrument(body.get("instrument"), front_month), _quantity(body, required=False), percent)


def _word(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = body.get(name)
    if not isinstance(value, str) or value.upper() not in choices:
        raise invalid(f"{name} must be one of {', '.join(choices)}")
    return value.upper()


def _quantity(body: dict[str, Any], *, required: bool) -> int | None:
    value = body.get("quantity")
    if value is None:
        if required:
            raise invalid("quantity is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid("quantity must be a positive whole number of contracts")
    return value


def _price(body: dict[str, Any], name: str, *, required: bool) -> Decimal | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required for this orderType")
        return None
    price = _number(value, name)
    if price <= 0:
        raise invalid(f"{name} must be greater than 0")
    return price


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise invalid(f"{name} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{name} must be a number") from None
    if not number.is_finite():
        raise invalid(f"{name} must be a number")
    return number
