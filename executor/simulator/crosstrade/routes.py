"""CrossTrade's REST endpoints, as a blueprint over the generic gateway.

Routes only parse and call the engine; logging, faults and the bearer check
(with the token's rate limit) are the gateway's. After authentication every
endpoint first checks that NinjaTrader is "connected" (HTTP 408 otherwise).
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl

from flask import Blueprint, Response

from executor.simulator.crosstrade import auth, engine, params, protocol
from executor.simulator.gateway import handle
from executor.simulator.venue import VenueCall, VenueError, VenueSpec

SPEC = VenueSpec(
    name=protocol.VENUE,
    authenticate=auth.authenticate,
    success=protocol.success,
    failure=protocol.failure,
    rate_limit_error=protocol.rate_limit_error,
    funding_error=protocol.funding_error,
    log_identity=protocol.log_identity,
)

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

blueprint = Blueprint("simulator_crosstrade", __name__)


def _connected(action: Callable[[VenueCall], Any]) -> Callable[[VenueCall], Any]:
    def run(call: VenueCall) -> Any:
        auth.check_connected(call)
        return action(call)
    return run


@blueprint.get(protocol.POSITION_PATH)
def get_position(account: str) -> Response:
    return handle(SPEC, _connected(lambda call: _position(call, account)))


@blueprint.post(protocol.REVERSE_PATH)
def reverse_position(account: str) -> Response:
    return handle(SPEC, _connected(lambda call: _reverse(call, account)))


@blueprint.post(protocol.CLOSE_PATH)
def close_position(account: str) -> Response:
    return handle(SPEC, _connected(lambda call: _close(call, account)))


@blueprint.post(protocol.FLATTEN_ALL_PATH)
def flatten_everything() -> Response:
    return handle(SPEC, _connected(_flatten_all))


@blueprint.route(protocol.API_PREFIX, defaults={"rest": ""}, methods=ALL_METHODS)
@blueprint.route(protocol.API_PREFIX + "/<path:rest>", methods=ALL_METHODS)
def unknown_path(rest: str) -> Response:
    return handle(SPEC, _not_found, authenticate=False)


def _position(call: VenueCall, account: str) -> dict[str, Any]:
    name = auth.account_name(call, account)
    query = dict(parse_qsl(call.query, keep_blank_values=True))
    instrument = params.instrument(query.get("instrument"), engine.front_month(call.state))
    with call.state.lock:
        view = engine.holding(call.state, name, instrument).view()
    return {**view, "success": True}


def _reverse(call: VenueCall, account: str) -> dict[str, Any]:
    name = auth.account_name(call, account)
    request = params.reverse_request(params.json_body(call.body), engine.front_month(call.state))
    return {"orderId": engine.reverse(call.state, name, request), "success": True}


def _close(call: VenueCall, account: str) -> dict[str, Any]:
    name = auth.account_name(call, account)
    request = params.close_request(params.json_body(call.body), engine.front_month(call.state))
    return {"closedPositions": [engine.close(call.state, name, request)], "success": True}


def _flatten_all(call: VenueCall) -> dict[str, Any]:
    closed = engine.flatten_all(call.state, auth.granted_accounts(call))
    answer: dict[str, Any] = {"closedPositions": closed, "success": True}
    if not closed:
        answer["warning"] = "No positions to flatten"
    return answer


def _not_found(call: VenueCall) -> Any:
    raise VenueError(protocol.CODE_NOT_FOUND, f"No endpoint {call.method} {call.path}", 404)
