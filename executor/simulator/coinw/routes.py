"""CoinW's perpetual-futures endpoints, as a blueprint over the generic gateway.

Routes only parse parameters and call the engine; logging, faults,
authentication and rate limits are the gateway's job.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response

from executor.simulator.coinw import engine, params, protocol
from executor.simulator.coinw.auth import authenticate
from executor.simulator.gateway import handle
from executor.simulator.venue import VenueCall, VenueError, VenueSpec

SPEC = VenueSpec(
    name=protocol.VENUE,
    authenticate=authenticate,
    success=protocol.success,
    failure=protocol.failure,
    rate_limit_error=protocol.rate_limit_error,
    funding_error=protocol.funding_error,
    log_identity=protocol.log_identity,
    limits=protocol.LIMITS,
)

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

blueprint = Blueprint("simulator_coinw", __name__)


@blueprint.get(protocol.POSITIONS_PATH)
def get_positions() -> Response:
    return handle(SPEC, _positions)


@blueprint.post(protocol.REVERSE_PATH)
def reverse_position() -> Response:
    return handle(SPEC, _reverse)


@blueprint.delete(protocol.POSITIONS_PATH)
def close_position() -> Response:
    return handle(SPEC, _close)


@blueprint.delete(protocol.ALL_POSITIONS_PATH)
def close_all_positions() -> Response:
    return handle(SPEC, _close_all)


@blueprint.route("/v1/perpum", defaults={"rest": ""}, methods=ALL_METHODS)
@blueprint.route("/v1/perpum/<path:rest>", methods=ALL_METHODS)
def unknown_path(rest: str) -> Response:
    return handle(SPEC, _wrong_url, authenticate=False)


def _positions(call: VenueCall) -> list[dict[str, Any]]:
    query = dict(parse_qsl(call.query, keep_blank_values=True))
    instrument = params.instrument(params.required(query, "instrument"))
    ids = params.open_ids(query.get("openIds"))
    assert call.account is not None
    return engine.list_positions(call.state, call.account, instrument, ids)


def _reverse(call: VenueCall) -> Any:
    body = params.json_body(call.body)
    position_id = params.position_id(params.required(body, "id"))
    assert call.account is not None
    return protocol.order_id_data(call, engine.reverse(call.state, call.account, position_id))


def _close(call: VenueCall) -> Any:
    request = params.close_request(params.json_body(call.body))
    assert call.account is not None
    return protocol.order_id_data(call, engine.close(call.state, call.account, request))


def _close_all(call: VenueCall) -> Any:
    body = params.json_body(call.body)
    instrument = params.instrument(params.required(body, "instrument"))
    assert call.account is not None
    order_id = engine.close_all(call.state, call.account, instrument)
    return protocol.order_id_data(call, order_id) if order_id is not None else None


def _wrong_url(call: VenueCall) -> Any:
    raise VenueError(protocol.CODE_WRONG_URL, "wrong URL")
