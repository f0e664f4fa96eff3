"""Bitget v2 mix wire conventions: codes, envelope, limits, how positions and orders look.

Documented by Bitget (see VENUES.md): "00000" success; 40008 timestamp
expired; 40009 signature error; 22002 / 40757 / 43043 no position; 45043
suspended for settlement or maintenance; 40786 duplicate clientOid; HTTP 429
``{"code": "429", "msg": "Too Many Requests"}``. From Bitget's public error
list: 40006 invalid ACCESS_KEY, 40011 ACCESS_PASSPHRASE missing, 40012 API
key or passphrase incorrect, 40005 invalid ACCESS_TIMESTAMP, 40007 invalid
Content-Type, 40109 order not found (40768 and 43001 say the same: the venue
option ``order_not_found_code`` picks which one the order lookup answers),
40404 unknown URL, 40085 the account is in unified trading mode (an API key
registered with ``"account_mode": "unified"`` gets it on every signed
request; its text is the simulator's), 40808 a size with more decimals than
the contract allows (see ``contracts``).

Simulator choices, where Bitget documents no code (treat as configurable):

- 40019 a required parameter is missing, 40020 a parameter is invalid;
- 40774 the request does not fit the account's position mode (click-backhand
  with ``tradeSide`` in one-way mode, or without it in hedge mode; a
  place-order without ``tradeSide`` in hedge mode);
- ``tradeSide`` is accepted only as documented: ``open``/``close`` (the
  parameter tables) or ``Open``/``Close`` (the notes, and what ccxt sends);
  any other spelling answers 40020. A hedge-mode click-backhand takes either
  value, since Bitget does not say which one a reversal wants;
- 40762 a reduce-only / close order larger than the position;
- errors answer HTTP 400, except 429 and 404 (unknown URL).

Ids: order ids are 19-digit strings; numbers are strings as on the venue.
"""
from __future__ import annotations

import json
from typing import Any

from werkzeug.datastructures import Headers

from executor.simulator.faults import FaultRule
from executor.simulator.limits import RateLimit
from executor.simulator.models import Order, Position, format_decimal
from executor.simulator.venue import Reply, VenueCall, VenueError

VENUE = "bitget"

CODE_OK = "00000"
CODE_INVALID_TIMESTAMP = "40005"
CODE_INVALID_KEY = "40006"
CODE_CONTENT_TYPE = "40007"
CODE_TIMESTAMP_EXPIRED = "40008"
CODE_SIGN = "40009"
CODE_PASSPHRASE_MISSING = "40011"
CODE_PASSPHRASE_WRONG = "40012"
CODE_MISSING_PARAMETER = "40019"
CODE_INVALID_PARAMETER = "40020"
CODE_ORDER_NOT_FOUND = "40109"
CODE_UNIFIED_ACCOUNT = "40085"
CODE_SCALE = "40808"
CODE_NOT_FOUND_URL = "40404"
CODE_NO_POSITION_TO_CLOSE = "22002"
CODE_NO_POSITION_AVAILABLE = "40757"
CODE_SIZE_ABOVE_POSITION = "40762"
CODE_POSITION_MODE = "40774"
CODE_DUPLICATE_CLIENT_OID = "40786"
CODE_MAINTENANCE = "45043"
CODE_RATE_LIMITED = "429"

MAINTENANCE_MESSAGE = "Trading is suspended for settlement or maintenance, please try again later"
UNIFIED_ACCOUNT_MESSAGE = "The account is in unified trading mode and cannot use the classic account API"

SINGLE_POSITION_PATH = "/api/v2/mix/position/single-position"
CLICK_BACKHAND_PATH = "/api/v2/mix/order/click-backhand"
CLOSE_POSITIONS_PATH = "/api/v2/mix/order/close-positions"
PLACE_ORDER_PATH = "/api/v2/mix/order/place-order"
ORDER_DETAIL_PATH = "/api/v2/mix/order/detail"
TIME_PATH = "/api/v2/public/time"
CONTRACTS_PATH = "/api/v2/mix/market/contracts"

#: Bitget's documented limits, keyed "METHOD path": per UID (one per API key here), the public one per IP.
LIMITS: dict[str, RateLimit] = {
    f"POST {CLICK_BACKHAND_PATH}": RateLimit(10),
    f"POST {CLOSE_POSITIONS_PATH}": RateLimit(1),
    f"GET {SINGLE_POSITION_PATH}": RateLimit(10),
    f"POST {PLACE_ORDER_PATH}": RateLimit(10),
    f"GET {ORDER_DETAIL_PATH}": RateLimit(10),
    f"GET {CONTRACTS_PATH}": RateLimit(20),  # public: per IP on the venue, for every client together here
}

#: Product types the v2 mix API accepts (upper case; requests may use any case).
PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES", "SUSDT-FUTURES", "SCOIN-FUTURES",
                 "SUSDC-FUTURES")

#: ``marginMode`` as written, by the store's integer (the control API's ``position_model``: 0 isolated, 1 cross).
MARGIN_MODES = {0: "isolated", 1: "crossed"}


def _envelope(call: VenueCall, code: str, msg: str, data: Any) -> dict[str, Any]:
    return {"code": code, "msg": msg, "requestTime": int(call.state.now() * 1000), "data": data}


def success(call: VenueCall, data: Any) -> Reply:
    return Reply(200, json.dumps(_envelope(call, CODE_OK, "success", data), separators=(",", ":")), code=CODE_OK)


def failure(call: VenueCall, error: VenueError) -> Reply:
    status = error.status if error.status != 200 else 400
    body = json.dumps(_envelope(call, str(error.code), error.message, None), separators=(",", ":"))
    return Reply(status, body, code=str(error.code))


def rate_limit_error() -> VenueError:
    return VenueError(CODE_RATE_LIMITED, "Too Many Requests", 429)


def funding_error(rule: FaultRule) -> VenueError:
    code = rule.code if rule.code is not None else CODE_MAINTENANCE
    return VenueError(str(code), rule.message or MAINTENANCE_MESSAGE)


def order_not_found_code(options: dict[str, Any]) -> str:
    """The code an order lookup that finds nothing answers: the venue option ``order_not_found_code``, or 40109."""
    return str(options.get("order_not_found_code") or CODE_ORDER_NOT_FOUND)


def log_identity(headers: Headers) -> str | None:
    return headers.get("ACCESS-KEY")


def present_position(position: Position, pos_mode: str = "one_way_mode") -> dict[str, Any]:
    """A position as single-position shows it."""
    size = format_decimal(position.current_size)
    return {
        "marginCoin": "USDT", "symbol": position.instrument, "holdSide": position.direction,
        "openDelegateSize": "0", "marginSize": format_decimal(
            position.current_size * position.open_price / max(position.leverage, 1)),
        "available": size, "locked": "0", "total": size, "leverage": str(position.leverage),
        "achievedProfits": "0", "openPriceAvg": format_decimal(position.open_price),
        "marginMode": MARGIN_MODES.get(position.margin_mode, "crossed"), "posMode": pos_mode,
        "unrealizedPL": "0", "liquidationPrice": "0", "markPrice": format_decimal(position.open_price),
        "assetMode": "single", "autoMargin": "off",
        "cTime": str(int(position.created_at * 1000)), "uTime": str(int(position.updated_at * 1000)),
    }


def present_order(order: Order) -> dict[str, Any]:
    """An order as the order detail endpoint shows it."""
    detail = order.detail
    size = format_decimal(order.size)
    return {
        "symbol": order.instrument, "size": size, "orderId": order.id, "clientOid": detail.get("clientOid"),
        "baseVolume": size if order.status == "filled" else "0", "fee": "0",
        "price": format_decimal(order.price) if order.price is not None else "",
        "priceAvg": detail.get("priceAvg", ""), "state": order.status, "side": detail.get("side"),
        "force": "gtc", "totalProfits": "0", "posSide": detail.get("posSide"), "marginCoin": "USDT",
        "orderType": detail.get("orderType", "market"), "leverage": "10",
        "marginMode": detail.get("marginMode", "crossed"), "reduceOnly": detail.get("reduceOnly", "NO"),
        "enterPointSource": "API", "tradeSide": detail.get("tradeSide"), "posMode": detail.get("posMode"),
        "orderSource": detail.get("orderSource", "market"),
        "cTime": str(int(order.time * 1000)), "uTime": str(int(order.time * 1000)),
    }
