"""CrossTrade's wire conventions: paths, error shapes, how a position looks.

Documented by CrossTrade (see VENUES.md): bearer token; errors
``{"success": false, "error": "<code>", "detail": "..."}``; a missing
position as ``{"error": "No position found for instrument '...' in account
'...'"}`` (reverse) or ``{"error": "No positions found for instrument '...'"}``
(close); HTTP 429 ``{"error": "Rate limit exceeded"}``; HTTP 408 when
NinjaTrader is not connected; ``invalid_account`` for an unknown account.

Simulator choices, because CrossTrade does not document them:

- HTTP statuses: 401 ``unauthorized`` (bad or missing token), 404
  ``invalid_account``, 404 for the no-position errors, 400
  ``invalid_instrument`` / ``invalid_parameter``, 408 ``not_connected``,
  404 ``not_found`` for an unknown path;
- ``orderType`` and ``timeInForce`` are required on a reverse (no default is
  documented, so a client relying on one is caught here);
- a close answer lists the closed part: the position with the closed quantity.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import Headers

from executor.simulator.faults import FaultRule
from executor.simulator.gateway import json_reply
from executor.simulator.models import Position
from executor.simulator.venue import Reply, VenueCall, VenueError

VENUE = "crosstrade"

API_PREFIX = "/v1/api"
POSITION_PATH = API_PREFIX + "/accounts/<account>/position"
REVERSE_PATH = API_PREFIX + "/accounts/<account>/positions/reverseposition"
CLOSE_PATH = API_PREFIX + "/accounts/<account>/positions/close"
FLATTEN_ALL_PATH = API_PREFIX + "/positions/flatten"

CODE_OK = "ok"
CODE_UNAUTHORIZED = "unauthorized"
CODE_INVALID_ACCOUNT = "invalid_account"
CODE_INVALID_INSTRUMENT = "invalid_instrument"
CODE_INVALID_PARAMETER = "invalid_parameter"
CODE_NOT_CONNECTED = "not_connected"
CODE_NOT_FOUND = "not_found"
#: Logged codes of the errors CrossTrade answers as a bare ``{"error": "<sentence>"}``.
CODE_NO_POSITION = "no_position"
CODE_RATE_LIMITED = "rate_limited"
BARE_ERRORS = frozenset({CODE_NO_POSITION, CODE_RATE_LIMITED})

RATE_LIMIT_MESSAGE = "Rate limit exceeded"
NOT_CONNECTED_MESSAGE = "NinjaTrader or the CrossTrade add-on is not connected"


def success(call: VenueCall, data: Any) -> Reply:
    return json_reply(200, data, CODE_OK)


def failure(call: VenueCall, error: VenueError) -> Reply:
    if error.code in BARE_ERRORS:
        return json_reply(error.status, {"error": error.message}, error.code)
    return json_reply(error.status, {"success": False, "error": error.code, "detail": error.message}, error.code)


def rate_limit_error() -> VenueError:
    return VenueError(CODE_RATE_LIMITED, RATE_LIMIT_MESSAGE, 429)


def not_connected_error() -> VenueError:
    return VenueError(CODE_NOT_CONNECTED, NOT_CONNECTED_MESSAGE, 408)


def funding_error(rule: FaultRule) -> VenueError:
    """Futures have no funding; the ``funding`` fault answers a plain CrossTrade error."""
    return VenueError(rule.code if rule.code is not None else "unavailable",
                      rule.message or "trading is unavailable", 400)


def invalid(message: str) -> VenueError:
    return VenueError(CODE_INVALID_PARAMETER, message, 400)


def bearer_token(headers: Headers) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_label(token: str) -> str:
    """A stable, non-secret name for a token in logs: a short hash, never the token."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def log_identity(headers: Headers) -> str | None:
    token = bearer_token(headers)
    return token_label(token) if token else None


def position_view(account: str, instrument: str, direction: str | None, quantity: Decimal,
                  average_price: Decimal) -> dict[str, Any]:
    """One position as CrossTrade shows it; ``direction`` None is Flat."""
    price = float(average_price) if direction else 0.0
    return {
        "type": "NinjaTrader.Cbi.Position",
        "account": account,
        "instrument": instrument,
        "instrumentType": "Future",
        "marketPosition": direction.capitalize() if direction else "Flat",
        "quantity": int(quantity) if direction else 0,
        "averagePrice": price,
        "marketPrice": price,
        "unrealizedProfitLoss": 0.0,
    }


def present_position(position: Position) -> dict[str, Any]:
    """A stored position for the control API (its instrument as it was created)."""
    return position_view(position.account, position.instrument, position.direction, position.current_size,
                         position.open_price)
