"""CrossTrade's own rules for an alert, checked at intake so a bad alert is answered 400, not failed later.

The intake calls ``intake_errors`` with the schema-checked alert; it fills in
what CrossTrade needs explicitly (the account, the side in BUY/SELL, the order
type and time in force of a reverse) and returns the problems by field.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from executor.venues.crosstrade.instruments import NotAFuture, parse_future

if TYPE_CHECKING:
    from config.settings import Settings

#: How a side may be written, and what CrossTrade calls it.
SIDES = {"BUY": "BUY", "LONG": "BUY", "SELL": "SELL", "SHORT": "SELL"}

#: Order types, and the prices each needs (and so may carry).
ORDER_TYPES: dict[str, frozenset[str]] = {
    "MARKET": frozenset(),
    "LIMIT": frozenset({"limit_price"}),
    "STOPMARKET": frozenset({"stop_price"}),
    "STOPLIMIT": frozenset({"limit_price", "stop_price"}),
}
TIMES_IN_FORCE = ("DAY", "GTC")
DEFAULT_ORDER_TYPE = "MARKET"
DEFAULT_TIME_IN_FORCE = "DAY"

#: Fields only a reverse takes: they describe the order placed after the close.
ORDER_FIELDS = ("side", "order_type", "time_in_force", "limit_price", "stop_price")
#: Alert fields CrossTrade has no use for.
UNUSED_FIELDS = ("position_id", "price")


def intake_errors(alert: dict[str, Any], settings: Settings) -> dict[str, list[str]]:
    """CrossTrade's rules; fills defaults into ``alert``; returns errors by field."""
    errors: dict[str, list[str]] = {}
    _fill_account(alert, settings, errors)
    _check_symbol(alert, errors)
    _check_qty(alert, errors)
    for name in UNUSED_FIELDS:
        if name in alert:
            errors.setdefault(name, []).append("Not used by CrossTrade.")
    if alert["action"] == "reverse":
        _check_order(alert, errors)
    else:
        for name in ORDER_FIELDS:
            if name in alert:
                errors.setdefault(name, []).append("Only a reverse takes this field on CrossTrade.")
    return errors


def _fill_account(alert: dict[str, Any], settings: Settings, errors: dict[str, list[str]]) -> None:
    account = (alert.get("account") or settings.crosstrade.account or "").strip()
    if not account:
        errors["account"] = ["CrossTrade needs an account: name it in the alert (account) "
                             "or set CROSSTRADE_ACCOUNT on the server."]
        return
    alert["account"] = account


def _check_symbol(alert: dict[str, Any], errors: dict[str, list[str]]) -> None:
    try:
        parse_future(alert["symbol"])
    except NotAFuture as exc:
        errors["symbol"] = [str(exc)]


def _check_qty(alert: dict[str, Any], errors: dict[str, list[str]]) -> None:
    qty: Decimal | None = alert.get("qty")
    if qty is not None and qty != qty.to_integral_value():
        errors.setdefault("qty", []).append("Must be a whole number of contracts.")


def _check_order(alert: dict[str, Any], errors: dict[str, list[str]]) -> None:
    if "side" in alert:
        side = SIDES.get(alert["side"].strip().upper())
        if side is None:
            errors["side"] = ["Unknown side; one of: buy, sell (or long, short)."]
        else:
            alert["side"] = side
    order_type = _choice(alert, "order_type", tuple(ORDER_TYPES), DEFAULT_ORDER_TYPE, errors)
    _choice(alert, "time_in_force", TIMES_IN_FORCE, DEFAULT_TIME_IN_FORCE, errors)
    if order_type is not None:
        _check_prices(alert, order_type, errors)


def _choice(alert: dict[str, Any], name: str, choices: tuple[str, ...], default: str,
            errors: dict[str, list[str]]) -> str | None:
    """The field upper-cased (the default when absent), or None after noting an unknown value."""
    value = alert.get(name, default).strip().upper()
    if value not in choices:
        errors[name] = [f"Unknown {name}; one of: {', '.join(choices)}."]
        return None
    alert[name] = value
    return value


def _check_prices(alert: dict[str, Any], order_type: str, errors: dict[str, list[str]]) -> None:
    needed = ORDER_TYPES[order_type]
    for name in ("limit_price", "stop_price"):
        if name in needed and name not in alert:
            errors.setdefault(name, []).append(f"A {order_type} order needs {name}.")
        elif name not in needed and name in alert:
            errors.setdefault(name, []).append(f"A {order_type} order takes no {name}.")
