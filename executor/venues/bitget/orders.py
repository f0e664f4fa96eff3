"""What to send for an alert, as pure functions of the alert and the position read.

Side conventions (Bitget v2 mix, see VENUES.md and the Place-Order / Reversal pages):

- one-way mode: ``side`` is the trade direction, no ``tradeSide``; a reduce-only
  order closes with the opposite side (``sell`` reduces a long), and a
  reversal of a long is a ``sell``.
- hedge mode: ``side`` names the position (``buy`` = the long), ``tradeSide``
  says what to do with it: ``Close`` for a reduce (``buy``/``Close`` closes a
  long), and for a reversal ``side=buy`` reverses the long.

``tradeSide`` values are written once, here. Bitget's parameter tables write
them in lower case (``open``/``close``), its notes capitalised (``Open``/
``Close``), and ccxt sends ``Close`` on a hedge-mode close (and ``Open`` on a
hedge-mode open); no page says whether case matters. The product sends what
the notes write and ccxt sends. The Reversal page requires ``tradeSide`` in
hedge mode but leaves its value blank; the SDK docstrings quoting it say
``open``, so a reversal sends ``Open`` (``REVERSE_TRADE_SIDE``): the one value
here no public source settles.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from executor.domain import Alert, Position
from executor.venues.bitget.positions import HEDGE_MODE, margin_mode, pos_mode

#: ``tradeSide`` of an order that opens, as Bitget's notes write it and ccxt sends it.
TRADE_SIDE_OPEN = "Open"
#: ``tradeSide`` of an order that closes, as Bitget's notes write it and ccxt sends it on a hedge-mode close.
TRADE_SIDE_CLOSE = "Close"
#: ``tradeSide`` of a hedge-mode close (place-order with the position's side).
CLOSE_TRADE_SIDE = TRADE_SIDE_CLOSE
#: ``tradeSide`` of a hedge-mode reversal (click-backhand): required, its value undocumented (see above).
REVERSE_TRADE_SIDE = TRADE_SIDE_OPEN

#: Prefix of each action's clientOid; the rest is a hash of the job's idempotency key.
CLIENT_OID_TAGS = {"reverse": "rev", "close": "cls"}

#: Hex digits of the hash kept in a clientOid: "rev-" + 32 = 36 characters, within Bitget's 40 of [A-Za-z0-9_-].
CLIENT_OID_HASH_LENGTH = 32


def client_oid(idempotency_key: str, action: str) -> str:
    """The same for every attempt of one job, different for every job and action; short and plain."""
    digest = hashlib.sha256(f"{idempotency_key}:{action}".encode()).hexdigest()
    return f"{CLIENT_OID_TAGS.get(action, action[:3])}-{digest[:CLIENT_OID_HASH_LENGTH]}"


def plain(number: Decimal) -> str:
    """A size as Bitget writes it: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def is_hedge(position: Position) -> bool:
    return pos_mode(position) == HEDGE_MODE


def reverse_body(alert: Alert, position: Position, size: Decimal, oid: str) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": position.symbol, "size": plain(size)}
    if is_hedge(position):
        body["side"] = "buy" if position.side == "long" else "sell"
        body["tradeSide"] = REVERSE_TRADE_SIDE
    else:
        body["side"] = "sell" if position.side == "long" else "buy"
    body["clientOid"] = oid
    return body


def reduce_body(position: Position, size: Decimal, oid: str) -> dict[str, Any]:
    """A market order that can only shrink the position."""
    body: dict[str, Any] = {"symbol": position.symbol, "marginMode": margin_mode(position), "size": plain(size)}
    if is_hedge(position):
        body["side"] = "buy" if position.side == "long" else "sell"
        body["tradeSide"] = CLOSE_TRADE_SIDE
    else:
        body["side"] = "sell" if position.side == "long" else "buy"
        body["reduceOnly"] = "YES"
    body.update(orderType="market", clientOid=oid)
    return body
