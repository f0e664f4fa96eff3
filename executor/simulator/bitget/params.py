"""Turning Bitget request parameters into typed values, with Bitget-style errors.

Absent or empty required parameters answer 40019, unusable ones 40020 (both
simulator choices; see ``protocol``). Symbols, product types and sides are
case-insensitive, as on the venue.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from executor.simulator.bitget import protocol as p
from executor.simulator.venue import VenueError

#: A clientOid Bitget accepts: at most 40 characters of this set (its documented id pattern).
CLIENT_OID = re.compile(r"[0-9A-Za-z_:#+\-]{1,40}")

SIDES = ("buy", "sell")
#: ``tradeSide`` exactly as Bitget documents it, and what each spelling means: lower case in its parameter
#: tables, capitalised in its notes (as ccxt sends it). Any other spelling (``CLOSE``, ``close_long``) is refused.
TRADE_SIDES = {"open": "open", "close": "close", "Open": "open", "Close": "close"}
HOLD_SIDES = ("long", "short")


@dataclass(frozen=True)
class OrderRequest:
    """A validated place-order or click-backhand."""

    symbol: str
    side: str | None
    trade_side: str | None
    size: Decimal | None
    client_oid: str | None
    order_type: str = "market"
    reduce_only: bool = False
    price: Decimal | None = None
    margin_mode: str = "crossed"


def invalid(message: str) -> VenueError:
    return VenueError(p.CODE_INVALID_PARAMETER, f"Parameter verification failed: {message}")


def json_body(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


def required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise VenueError(p.CODE_MISSING_PARAMETER, f"Parameter {name} cannot be empty")
    return value


def symbol(params: dict[str, Any]) -> str:
    value = required(params, "symbol")
    if not isinstance(value, str) or not value.strip().isalnum():
        raise invalid("symbol must be like BTCUSDT")
    return value.strip().upper()


def product_type(params: dict[str, Any]) -> str:
    value = str(required(params, "productType")).upper()
    if value not in p.PRODUCT_TYPES:
        raise invalid(f"productType must be one of {', '.join(p.PRODUCT_TYPES)}")
    return value


def choice(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    text = str(value).lower()
    if text not in allowed:
        raise invalid(f"{name} must be one of {', '.join(allowed)}")
    return text


def trade_side(params: dict[str, Any]) -> str | None:
    """``tradeSide`` in one of its documented spellings, as ``open`` or ``close``; None when absent."""
    value = params.get("tradeSide")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in TRADE_SIDES:
        raise invalid("tradeSide must be written as Bitget documents it: open or close (Open or Close)")
    return TRADE_SIDES[value]


def size(params: dict[str, Any], *, needed: bool) -> Decimal | None:
    value = params.get("size")
    if value is None or value == "":
        if needed:
            required(params, "size")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid("size must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid("size must be a number") from None
    if not number.is_finite() or number <= 0:
        raise invalid("size must be greater than 0")
    return number


def client_oid(params: dict[str, Any]) -> str | None:
    value = params.get("clientOid")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CLIENT_OID.fullmatch(value):
        raise invalid("clientOid must be at most 40 characters of 0-9A-Za-z_:#+-")
    return value


def backhand_request(body: dict[str, Any]) -> OrderRequest:
    product_type(body)
    required(body, "marginCoin")
    return OrderRequest(symbol(body), choice(body, "side", SIDES), trade_side(body), size(body, needed=False),
                        client_oid(body))


def place_request(body: dict[str, Any]) -> OrderRequest:
    product_type(body)
    required(body, "marginCoin")
    margin_mode = choice(body, "marginMode", ("isolated", "crossed"))
    side = choice(body, "side", SIDES)
    order_type = choice(body, "orderType", ("market", "limit"))
    if side is None or order_type is None or margin_mode is None:
        required(body, "side" if side is None else "orderType" if order_type is None else "marginMode")
    price = None
    if order_type == "limit":
        price = size({"size": required(body, "price")}, needed=True)
    reduce_only = choice(body, "reduceOnly", ("yes", "no")) == "yes"
    return OrderRequest(symbol(body), side, trade_side(body), size(body, needed=True),
                        client_oid(body), order_type or "market", reduce_only, price, margin_mode or "crossed")
