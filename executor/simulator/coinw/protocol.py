"""CoinW's wire conventions: codes, envelope, limits, how a position looks.

Documented by CoinW (see VENUES.md): 0 success, 402 missing required
parameter, 500 wrong URL, 6000 authentication error, 6001 invalid signature,
29001 too many requests (HTTP 429 here).

Simulator choices, because CoinW does not document them (adapters must treat
them as configurable, not as the venue's truth):

- 9001 invalid parameter (a value present but unusable: closeNum and
  closeRate together, closeNum above the position, bad positionType, ...);
- 9002 position does not exist (unknown, closed or another account's id);
- 9003 funding settlement in progress (the ``funding`` fault; the rule may
  override the code and message).

Ids: position ids are JSON integers of 19 digits (like CoinW's), unique
across the simulator; requests may send them as integers or digit strings.
Order ids are answered as digit strings in ``data``.

Venue options (``POST /_sim/config {"venue_options": {"coinw": {...}}}``):
``wrap_order_id`` answers ``{"value": "<id>"}`` instead of the bare id, and
``message_field`` ("msg" or "message") names the envelope's text field; both
shapes occur on the real venue.
"""
from __future__ import annotations

from typing import Any

from werkzeug.datastructures import Headers

from executor.simulator.faults import FaultRule
from executor.simulator.gateway import json_reply
from executor.simulator.limits import RateLimit
from executor.simulator.models import Position, format_decimal
from executor.simulator.venue import Reply, VenueCall, VenueError

VENUE = "coinw"

CODE_OK = 0
CODE_MISSING_PARAMETER = 402
CODE_WRONG_URL = 500
CODE_AUTH = 6000
CODE_SIGN = 6001
CODE_RATE_LIMITED = 29001
CODE_INVALID_PARAMETER = 9001
CODE_POSITION_NOT_FOUND = 9002
CODE_FUNDING = 9003

FUNDING_MESSAGE = "funding settlement in progress, please try again later"

POSITIONS_PATH = "/v1/perpum/positions"
REVERSE_PATH = "/v1/perpum/positions/reverse"
ALL_POSITIONS_PATH = "/v1/perpum/allpositions"

#: CoinW's documented per-account limits, keyed "METHOD path".
LIMITS: dict[str, RateLimit] = {
    f"GET {POSITIONS_PATH}": RateLimit(10),
    f"POST {REVERSE_PATH}": RateLimit(5),
    f"DELETE {POSITIONS_PATH}": RateLimit(30),
    f"DELETE {ALL_POSITIONS_PATH}": RateLimit(5),
}


def _message_field(call: VenueCall) -> str:
    field = call.state.venue_options(VENUE).get("message_field", "msg")
    return field if field in ("msg", "message") else "msg"


def success(call: VenueCall, data: Any) -> Reply:
    return json_reply(200, {"code": CODE_OK, "data": data, _message_field(call): ""}, CODE_OK)


def failure(call: VenueCall, error: VenueError) -> Reply:
    payload = {"code": error.code, "data": None, _message_field(call): error.message}
    return json_reply(error.status, payload, error.code)


def rate_limit_error() -> VenueError:
    return VenueError(CODE_RATE_LIMITED, "too many requests", 429)


def funding_error(rule: FaultRule) -> VenueError:
    code = rule.code if rule.code is not None else CODE_FUNDING
    return VenueError(code, rule.message or FUNDING_MESSAGE)


def log_identity(headers: Headers) -> str | None:
    return headers.get("api_key")


def order_id_data(call: VenueCall, order_id: str) -> Any:
    """The ``data`` of an order answer: the id, wrapped when the option says so."""
    if call.state.venue_options(VENUE).get("wrap_order_id"):
        return {"value": order_id}
    return order_id


def present_position(position: Position) -> dict[str, Any]:
    """A position as ``GET /v1/perpum/positions`` shows it."""
    return {
        "id": int(position.id),
        "instrument": position.instrument,
        "direction": position.direction,
        "currentPiece": format_decimal(position.current_size),
        "totalPiece": format_decimal(position.total_size),
        "closedPiece": format_decimal(position.total_size - position.current_size),
        "openPrice": format_decimal(position.open_price),
        "leverage": position.leverage,
        "positionModel": position.margin_mode,
        "status": "open",
        "createdDate": int(position.created_at * 1000),
        "updatedDate": int(position.updated_at * 1000),
    }
