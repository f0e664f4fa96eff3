"""After a lost answer: did CrossTrade act? Judged from the account's net position, never by sending again.

NinjaTrader keeps one net position per account and instrument, and CrossTrade
takes no client order id, so the only evidence is the position. The request
recorded just before sending says what it should have become:

- a MARKET reverse leaves the order's side and quantity; a LIMIT or STOP
  reverse leaves the account flat (its order is working, which the position
  endpoint cannot show: the result says so);
- a close leaves the open quantity less the closed one (``quantity`` capped at
  the open quantity, ``percent`` rounded up, as CrossTrade does).

Unchanged means not done (the caller sends again); the expected position means
done; anything else, or an action that would leave the position as it was
(a same-side reverse of the same size), cannot be told apart: ``OutcomeUnknown``.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from executor.domain import ActionResult
from executor.errors import OutcomeUnknown
from executor.history import FOUND_DONE
from executor.venues.crosstrade.codes import VENUE


#: (side or None when flat, quantity)
Holding = tuple[str | None, Decimal]

SIDE_OF_ACTION = {"BUY": "long", "SELL": "short"}


def expected_after(action: str, request: dict[str, Any], before: Holding) -> Holding:
    """The position the recorded request leaves when CrossTrade performs it."""
    side, size = before
    if action == "reverse":
        if request.get("orderType", "MARKET") != "MARKET":
            return (None, Decimal(0))
        return (SIDE_OF_ACTION[request["action"]], Decimal(request["quantity"]))
    if request.get("quantity") is not None:
        closed = min(Decimal(request["quantity"]), size)
    elif request.get("percent") is not None:
        closed = min(Decimal(math.ceil(size * Decimal(str(request["percent"])))), size)
    else:
        closed = size
    left = size - closed
    return (side if left else None, left)


def judge(action: str, in_flight: dict[str, Any], now: Holding) -> ActionResult | None:
    """The action's result when ``now`` shows it done; None when it shows it not done."""
    before_record = in_flight.get("position_before") or {}
    request = in_flight.get("request")
    if request is None or "side" not in before_record:
        raise OutcomeUnknown(VENUE, None, "the lost request was not recorded; check the position by hand")
    before: Holding = (before_record["side"], Decimal(before_record["size"]))
    expected = expected_after(action, request, before)
    if expected == before:
        raise OutcomeUnknown(VENUE, None, f"a {action} that leaves {_words(before)} cannot be told from one "
                                          "not done; check NinjaTrader by hand")
    if now == before:
        return None
    if now != expected:
        raise OutcomeUnknown(VENUE, None, f"the position went from {_words(before)} to {_words(now)}, not the "
                                          f"{_words(expected)} the {action} leaves")
    detail = {"account": before_record.get("account"), **request, "left": _words(now), "outcome": FOUND_DONE}
    if action == "reverse" and expected[0] is None:
        detail["working_order"] = "not visible through the position; check NinjaTrader's orders"
    return ActionResult(VENUE, action, None, detail)


def _words(holding: Holding) -> str:
    side, size = holding
    return f"{side} {size}" if side else "flat"
