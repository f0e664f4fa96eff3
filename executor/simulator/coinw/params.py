"""Turning CoinW request parameters into typed values, with CoinW's errors.

A parameter that is absent, null or empty answers 402 (documented); one that
is present but unusable answers 9001 (simulator choice).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from executor.simulator.coinw.protocol import CODE_INVALID_PARAMETER, CODE_MISSING_PARAMETER
from executor.simulator.venue import VenueError

#: Most position ids ``openIds`` may name.
MAX_OPEN_IDS = 20

POSITION_TYPES = ("execute", "plan")


@dataclass(frozen=True)
class CloseRequest:
    """A validated ``DELETE /v1/perpum/positions``."""

    position_id: str
    plan: bool
    close_num: Decimal | None
    close_rate: Decimal | None
    order_price: Decimal | None


def invalid(message: str) -> VenueError:
    return VenueError(CODE_INVALID_PARAMETER, f"invalid parameter: {message}")


def json_body(text: str) -> dict[str, Any]:
    """The body's JSON object ({} when empty); numbers with a point as Decimal."""
    if not text.strip():
        return {}
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise invalid("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body must be a JSON object")
    return body


def required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise VenueError(CODE_MISSING_PARAMETER, f"missing required parameter: {name}")
    return value


def position_id(value: Any) -> str:
    """A position id sent as an integer or a string of digits, normalised."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid("id must be a position id")
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise invalid("id must be a position id")
    return str(int(text))


def instrument(value: Any) -> str:
    if not isinstance(value, str) or not value.strip().isalnum():
        raise invalid("instrument must be a base currency such as BTC")
    return value.strip().upper()


def decimal_value(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise invalid(f"{name} must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid(f"{name} must be a number") from None
    if not number.is_finite():
        raise invalid(f"{name} must be a number")
    return number


def open_ids(text: str | None) -> set[str] | None:
    """The ``openIds`` filter: comma-separated ids, at most 20; None when absent."""
    if text is None or not text.strip():
        return None
    ids = {position_id(part) for part in text.split(",") if part.strip()}
    if len(ids) > MAX_OPEN_IDS:
        raise invalid(f"openIds may name at most {MAX_OPEN_IDS} positions")
    return ids


def close_request(body: dict[str, Any]) -> CloseRequest:
    """Validate a close: id, positionType, exactly one of closeNum/closeRate, orderPrice."""
    pid = position_id(required(body, "id"))
    position_type = body.get("positionType") or "execute"
    if position_type not in POSITION_TYPES:
        raise invalid("positionType must be execute or plan")
    plan = position_type == "plan"
    num, rate = _present(body, "closeNum"), _present(body, "closeRate")
    if num is not None and rate is not None:
        raise invalid("closeNum and closeRate are mutually exclusive")
    if num is None and rate is None:
        raise VenueError(CODE_MISSING_PARAMETER, "missing required parameter: closeNum or closeRate")
    price = _order_price(body, plan)
    close_num = decimal_value(num, "closeNum") if num is not None else None
    close_rate = decimal_value(rate, "closeRate") if rate is not None else None
    if close_num is not None and close_num <= 0:
        raise invalid("closeNum must be greater than 0")
    if close_rate is not None and not 0 < close_rate <= 1:
        raise invalid("closeRate must be greater than 0 and at most 1")
    return CloseRequest(pid, plan, close_num, close_rate, price)


def _order_price(body: dict[str, Any], plan: bool) -> Decimal | None:
    raw = _present(body, "orderPrice")
    if not plan:
        if raw is not None:
            raise invalid("orderPrice requires positionType plan")
        return None
    price = decimal_value(required(body, "orderPrice"), "orderPrice")
    if price <= 0:
        raise invalid("orderPrice must be greater than 0")
    return price


def _present(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    return None if value is None or value == "" else value
