"""Bitget's v2 mix endpoints, as a blueprint over the generic gateway.

Routes only parse parameters and call the engine; logging, faults,
authentication and rate limits are the gateway's job.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from executor.simulator.bitget import contracts, engine, params
from executor.simulator.bitget import protocol as p
from executor.simulator.bitget.auth import authenticate
from executor.simulator.gateway import handle
from executor.simulator.venue import VenueCall, VenueError, VenueSpec

SPEC = VenueSpec(
    name=p.VENUE,
    authenticate=authenticate,
    success=p.success,
    failure=p.failure,
    rate_limit_error=p.rate_limit_error,
    funding_error=p.funding_error,
    log_identity=p.log_identity,
    limits=p.LIMITS,
)

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

blueprint = Blueprint("simulator_bitget", __name__)


@blueprint.get(p.SINGLE_POSITION_PATH)
def single_position() -> Response:
    return handle(SPEC, _single_position)


@blueprint.post(p.CLICK_BACKHAND_PATH)
def click_backhand() -> Response:
    return handle(SPEC, _click_backhand)


@blueprint.post(p.CLOSE_POSITIONS_PATH)
def close_positions() -> Response:
    return handle(SPEC, _close_positions)


@blueprint.post(p.PLACE_ORDER_PATH)
def place_order() -> Response:
    return handle(SPEC, _place_order)


@blueprint.get(p.ORDER_DETAIL_PATH)
def order_detail() -> Response:
    return handle(SPEC, _order_detail)


@blueprint.get(p.TIME_PATH)
def server_time() -> Response:
    return handle(SPEC, _server_time, authenticate=False)


@blueprint.get(p.CONTRACTS_PATH)
def contract_metadata() -> Response:
    return handle(SPEC, _contracts, authenticate=False)


@blueprint.route("/api/v2/<path:rest>", methods=ALL_METHODS)
def unknown_path(rest: str) -> Response:
    return handle(SPEC, _not_found, authenticate=False)


def _account(call: VenueCall) -> str:
    assert call.account is not None
    return call.account


def _single_position(call: VenueCall) -> list[dict[str, Any]]:
    query = params.query(call.query)
    params.product_type(query)
    params.required(query, "marginCoin")
    return engine.single_position(call.state, _account(call), params.symbol(query))


def _click_backhand(call: VenueCall) -> dict[str, Any]:
    request = params.backhand_request(params.json_body(call.body))
    return engine.reverse(call.state, _account(call), request)


def _close_positions(call: VenueCall) -> dict[str, Any]:
    body = params.json_body(call.body)
    params.product_type(body)
    hold_side = params.choice(body, "holdSide", params.HOLD_SIDES)
    return engine.flash_close(call.state, _account(call), params.symbol(body), hold_side)


def _place_order(call: VenueCall) -> dict[str, Any]:
    request = params.place_request(params.json_body(call.body))
    return engine.place_order(call.state, _account(call), request)


def _order_detail(call: VenueCall) -> dict[str, Any]:
    query = params.query(call.query)
    params.product_type(query)
    order_id, client_oid = query.get("orderId") or None, query.get("clientOid") or None
    if order_id is None and client_oid is None:
        raise VenueError(p.CODE_MISSING_PARAMETER, "Parameter orderId or clientOid cannot be empty")
    return engine.order_detail(call.state, _account(call), params.symbol(query), order_id, client_oid)


def _contracts(call: VenueCall) -> list[dict[str, Any]]:
    """Public: every symbol the simulator trades takes one row; a query without ``symbol`` lists the known ones."""
    query = params.query(call.query)
    product_type = params.product_type(query)
    symbols = [params.symbol(query)] if query.get("symbol") else list(contracts.KNOWN_SPECS)
    return [contracts.present(call.state, symbol, product_type) for symbol in symbols]


def _server_time(call: VenueCall) -> dict[str, str]:
    return {"serverTime": str(int(call.state.now() * 1000))}


def _not_found(call: VenueCall) -> Any:
    raise VenueError(p.CODE_NOT_FOUND_URL, "Request URL NOT FOUND", 404)
