"""The simulator's control API under ``/_sim/``: set up, inspect, break.

Venue-generic JSON endpoints without authentication (the simulator listens on
loopback). Errors answer HTTP 400/404 with ``{"error": "..."}``. Credential
secrets can be written here but are never read back.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, jsonify, request

from executor.simulator.context import current_extension, current_state
from executor.simulator.faults import FaultError
from executor.simulator.models import DIRECTIONS
from executor.simulator.stats import venue_stats
from executor.simulator.venue import VenueModule

blueprint = Blueprint("simulator_control", __name__, url_prefix="/_sim")


class ControlError(ValueError):
    """A control request is malformed; answered 400 (or ``status``) with the message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@blueprint.errorhandler(ControlError)
def _control_error(error: ControlError) -> tuple[Response, int]:
    return jsonify(error=str(error)), error.status


@blueprint.errorhandler(FaultError)
def _fault_error(error: FaultError) -> tuple[Response, int]:
    return jsonify(error=str(error)), 400


@blueprint.get("/health")
def health() -> Response:
    return jsonify(ok=True, venues=sorted(current_extension().venues))


@blueprint.post("/reset")
def reset() -> Response:
    current_state().reset()
    return jsonify(ok=True)


@blueprint.post("/credentials")
def register_credentials() -> tuple[Response, int]:
    body = _body()
    module = _module(body.get("venue"))
    fields = {k: v for k, v in body.items() if k != "venue"}
    for name in module.credential_fields:
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise ControlError(f"{name} is required (a non-empty string)")
    identity = fields[module.credential_fields[0]]
    current_state().register_credentials(module.name, identity, fields)
    return jsonify(venue=module.name, identity=identity), 201


@blueprint.post("/positions")
def create_position() -> tuple[Response, int]:
    body = _body()
    module = _module(body.get("venue"))
    account = _text(body, "api_key")
    direction = _text(body, "direction")
    if direction not in DIRECTIONS:
        raise ControlError("direction must be long or short")
    size = _decimal(body, "size")
    if size is None or size <= 0:
        raise ControlError("size must be a positive number")
    position = current_state().add_position(
        module.name, account, _text(body, "instrument"), direction, size,
        open_price=_decimal(body, "open_price"), leverage=_int(body, "leverage"),
        margin_mode=1 if body.get("position_model") is None else _int(body, "position_model"))
    return jsonify(module.present_position(position)), 201


@blueprint.get("/positions")
def list_positions() -> Response:
    module = _module(request.args.get("venue"))
    positions = current_state().positions(module.name, request.args.get("api_key"),
                                          request.args.get("instrument"))
    return jsonify(positions=[{**module.present_position(p), "api_key": p.account}
                              for p in positions])


@blueprint.get("/orders")
def list_orders() -> Response:
    module = _module(request.args.get("venue"))
    orders = current_state().orders(module.name, request.args.get("api_key"),
                                    request.args.get("type"))
    return jsonify(orders=[o.to_record() for o in orders])


@blueprint.get("/requests")
def list_requests() -> Response:
    state = current_state()
    since = request.args.get("since", "0")
    if not since.isdigit():
        raise ControlError("since must be a sequence number")
    records = state.requests.records(request.args.get("venue"), int(since))
    return jsonify(requests=[r.to_dict() for r in records], last_seq=state.requests.last_seq())


@blueprint.delete("/requests")
def clear_requests() -> Response:
    current_state().requests.clear()
    return jsonify(ok=True)


@blueprint.post("/faults")
def add_fault() -> tuple[Response, int]:
    body = _body()
    _module(body.get("venue"))
    return jsonify(current_state().faults.add(body).to_dict()), 201


@blueprint.get("/faults")
def list_faults() -> Response:
    return jsonify(faults=[rule.to_dict() for rule in current_state().faults.rules()])


@blueprint.delete("/faults")
def clear_faults() -> Response:
    current_state().faults.clear()
    return jsonify(ok=True)


@blueprint.post("/config")
def update_config() -> Response:
    body = _body()
    config = current_state().config
    if "enforce_limits" in body:
        if not isinstance(body["enforce_limits"], bool):
            raise ControlError("enforce_limits must be true or false")
        config.enforce_limits = body["enforce_limits"]
    if "timestamp_window_s" in body:
        window = body["timestamp_window_s"]
        if isinstance(window, bool) or not isinstance(window, (int, float)) or window <= 0:
            raise ControlError("timestamp_window_s must be a positive number")
        config.timestamp_window_s = float(window)
    for venue, options in _venue_options(body).items():
        config.venue_options[venue] = {**config.venue_options.get(venue, {}), **options}
    return jsonify(config.to_dict())


@blueprint.get("/config")
def show_config() -> Response:
    return jsonify(current_state().config.to_dict())


@blueprint.get("/stats")
def stats() -> Response:
    module = _module(request.args.get("venue"))
    records = current_state().requests.records(module.name)
    return jsonify(venue_stats(module.name, records, module.spec.limits))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _module(venue: Any) -> VenueModule:
    venues = current_extension().venues
    if not isinstance(venue, str) or venue not in venues:
        raise ControlError(f"venue must be one of: {', '.join(sorted(venues))}")
    return venues[venue]


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ControlError(f"{name} is required (a non-empty string)")
    return value.strip()


def _decimal(body: dict[str, Any], name: str) -> Decimal | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ControlError(f"{name} must be a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise ControlError(f"{name} must be a number")
    return number


def _int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ControlError(f"{name} must be an integer")
    return value


def _venue_options(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    options = body.get("venue_options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise ControlError("venue_options must map a venue to an object of options")
    for venue in options:
        _module(venue)
    return options
