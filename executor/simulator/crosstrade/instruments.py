"""Instrument names as CrossTrade resolves them, to one canonical contract.

Accepted, as CrossTrade documents: ``ES 03-26`` (NinjaTrader's dated name,
canonical), ``ESH26`` (CME code, 2-digit year), ``ES`` and ``ES1!`` (the front
month). Anything else (``MESZ2025``, ``ES2!``, ``BTCUSDT``) is refused, so a
client that forgets to convert TradingView's names is caught.

The front month is the simulator's choice: ``FRONT_MONTH`` for every root,
changed with ``POST /_sim/config {"venue_options": {"crosstrade":
{"front_month": "06-26"}}}``.

Written independently of the adapter's mapping, so a shared mistake cannot hide.
"""
from __future__ import annotations

import re

#: Expiry ``ES`` and ``ES1!`` resolve to unless configured.
FRONT_MONTH = "03-26"

_MONTHS = "FGHJKMNQUVXZ"
_ROOT = r"([A-Z0-9]*[A-Z][A-Z0-9]*)"
_DATED = re.compile(_ROOT + r" (\d{2})-(\d{2})")
_CODE = re.compile(_ROOT + r"([" + _MONTHS + r"])(\d{2})")
_CONTINUOUS = re.compile(_ROOT + r"1!")
_BARE = re.compile(r"(?=.{1,4}$)" + _ROOT)
_EXPIRY = re.compile(r"(0[1-9]|1[0-2])-\d{2}")


def canonical(name: str, front_month: str = FRONT_MONTH) -> str | None:
    """``ES 03-26`` for any accepted spelling of that contract; None when not accepted."""
    text = name.strip().upper()
    dated = _DATED.fullmatch(text)
    if dated:
        root, month, year = dated.groups()
        return f"{root} {month}-{year}" if 1 <= int(month) <= 12 else None
    code = _CODE.fullmatch(text)
    if code:
        root, letter, year = code.groups()
        return f"{root} {_MONTHS.index(letter) + 1:02d}-{year}"
    continuous = _CONTINUOUS.fullmatch(text) or _BARE.fullmatch(text)
    if continuous:
        return f"{continuous.group(1)} {front_month}"
    return None


def valid_expiry(text: object) -> bool:
    return isinstance(text, str) and _EXPIRY.fullmatch(text) is not None
