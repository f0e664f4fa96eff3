"""TradingView tickers turned into each venue's instrument names.

TradingView writes ``BINANCE:BTCUSDT.P`` or ``BTCUSDT.P`` for a perpetual; the
venues want ``BTC`` (CoinW, base currency) or ``BTCUSDT`` (Bitget).
"""
from __future__ import annotations

import re

QUOTE_CURRENCIES = ("USDT", "USDC", "USD", "PERP")
_SEPARATORS = re.compile(r"[-_/]")


def strip_exchange(ticker: str) -> str:
    """``BINANCE:BTCUSDT.P`` -> ``BTCUSDT.P``."""
    return ticker.rsplit(":", 1)[-1].strip()


def _crypto_parts(ticker: str) -> tuple[str, str]:
    """Split a crypto ticker into (base, quote); quote is "" when none is written."""
    name = strip_exchange(ticker).upper()
    if name.endswith(".P"):
        name = name[:-2]
    name = _SEPARATORS.sub("", name)
    for quote in QUOTE_CURRENCIES:
        if name.endswith(quote) and len(name) > len(quote):
            return name[: -len(quote)], quote
    return name, ""


def coinw_instrument(ticker: str) -> str:
    """CoinW names a perpetual by its base currency: ``BTCUSDT.P`` -> ``BTC``."""
    return _crypto_parts(ticker)[0]


def bitget_symbol(ticker: str) -> str:
    """Bitget names a USDT perpetual ``BTCUSDT``: ``BITGET:BTCUSDT.P`` -> ``BTCUSDT``."""
    base, quote = _crypto_parts(ticker)
    if quote == "PERP":
        quote = "USDT"
    return base + (quote or "USDT")


def is_valid_instrument(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]{1,20}", name))
