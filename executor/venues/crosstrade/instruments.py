"""TradingView futures tickers turned into instrument names CrossTrade accepts.

CrossTrade accepts ``ES 03-26`` (NinjaTrader's own dated name), ``ES`` (the
root: the current front month), ``ES1!`` (TradingView's front-month
continuous) and ``ESH26`` (CME code). Each ticker gives two names:

- the *key*, the alert's ``symbol``: compact (``[A-Z0-9]``, as the intake
  requires) and the same for every spelling of one contract, so all alerts
  on one contract share one lane;
- the *wire* name, what is sent to CrossTrade: NinjaTrader's dated form for
  a dated contract (the name positions are reported in), unchanged otherwise.
  The adapter derives it from the ticker as written (the job's
  ``raw_symbol``), so ``ES1!`` goes out as ``ES1!`` and ``ES`` as ``ES``.

| TradingView writes | alert symbol (key) | sent to CrossTrade | note |
| --- | --- | --- | --- |
| `ES1!`, `CME_MINI:ES1!` | `ES` | `ES1!` | front-month continuous, kept; prefix stripped |
| `ES` | `ES` | `ES` | a known root alone (see `KNOWN_ROOTS`) |
| `ESZ25`, `ESH26` | `ESZ25`, `ESH26` | `ES 12-25`, `ES 03-26` | month code, 2-digit year |
| `MESZ2025`, `NQH2026` | `MESZ25`, `NQH26` | `MES 12-25`, `NQ 03-26` | month code, 4-digit year |
| `ES 12-25` | `ESZ25` | `ES 12-25` | NinjaTrader's own form, kept |
| `ES2!` | refused | | only the front month is continuous |
| `BTCUSDT.P`, `AAPL`, `ESZ5` | refused | | not a futures contract |

A dated or continuous form is futures notation whatever its root (1 to 4
letters or digits: ``ES``, ``MES``, ``M2K``, ``6E``, ``FDAX``); a bare root
must be a known futures root, since ``AAPL`` or ``SPY`` would otherwise pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: CME month codes, January to December.
MONTH_CODES = "FGHJKMNQUVXZ"

#: Futures roots accepted on their own (``ES``); extend when a user trades another.
KNOWN_ROOTS = frozenset({
    # equity index
    "ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K", "EMD", "NKD",
    # energy
    "CL", "MCL", "QM", "NG", "QG", "RB", "HO", "BZ",
    # metals
    "GC", "MGC", "SI", "SIL", "HG", "MHG", "PL", "PA",
    # rates
    "ZB", "ZN", "ZF", "ZT", "UB", "TN", "ZQ", "SR3",
    # agriculture and livestock
    "ZC", "ZS", "ZW", "ZM", "ZL", "ZO", "KE", "HE", "LE", "GF",
    # currencies
    "6A", "6B", "6C", "6E", "6J", "6M", "6N", "6S", "M6A", "M6B", "M6E", "E7", "J7",
    # crypto and volatility
    "BTC", "MBT", "ETH", "MET", "VX", "VXM",
    # Eurex
    "FDAX", "FDXM", "FESX", "FGBL", "FGBM", "FGBS",
})

#: A root: 1 to 4 letters or digits (``parse_future`` also wants a letter in it).
_ROOT = r"(?P<root>[A-Z0-9]{1,4})"
_CODE_FORM = re.compile(_ROOT + r"(?P<code>[" + MONTH_CODES + r"])(?P<year>\d{2}|\d{4})")
_DATED_FORM = re.compile(_ROOT + r" (?P<month>\d{2})-(?P<year>\d{2})")
_CONTINUOUS_FORM = re.compile(_ROOT + r"(?P<n>\d)!")

#: What every refusal says the accepted forms are.
ACCEPTED = "a futures contract such as ES1!, ES, ESH26, MESZ2025 or ES 12-25"


class NotAFuture(ValueError):
    """The ticker is not a futures instrument CrossTrade can trade; the message says why."""


@dataclass(frozen=True)
class Future:
    """One futures instrument: a dated contract (``month``, ``year``) or the front month (neither)."""

    root: str
    month: int | None = None
    year: int | None = None  # two digits
    continuous: bool = False  # written ``ES1!``

    @property
    def key(self) -> str:
        """Compact and the same for every spelling: ``ESZ25``, or ``ES`` for the front month."""
        if self.month is None:
            return self.root
        return f"{self.root}{MONTH_CODES[self.month - 1]}{self.year:02d}"

    @property
    def wire(self) -> str:
        """The name sent to CrossTrade: ``ES 12-25``, ``ES1!`` or ``ES``."""
        if self.month is None:
            return f"{self.root}1!" if self.continuous else self.root
        return f"{self.root} {self.month:02d}-{self.year:02d}"


def parse_future(ticker: str) -> Future:
    """The futures instrument a TradingView ticker names; ``NotAFuture`` otherwise."""
    name = ticker.rsplit(":", 1)[-1].strip().upper()
    for parse in (_continuous, _dated, _code, _bare):
        future = parse(name)
        if future is not None and not future.root.isdigit():
            return future
    raise NotAFuture(f"{ticker!r} is not {ACCEPTED}.")


def instrument_key(ticker: str) -> str:
    """The alert's symbol for a ticker; "" when it is not a future (the intake then refuses it)."""
    try:
        return parse_future(ticker).key
    except NotAFuture:
        return ""


def wire_instrument(ticker: str) -> str:
    """What to send CrossTrade for a ticker (or for a key: ``ESZ25`` -> ``ES 12-25``)."""
    return parse_future(ticker).wire


def _continuous(name: str) -> Future | None:
    match = _CONTINUOUS_FORM.fullmatch(name)
    if match is None:
        return None
    if match["n"] != "1":
        raise NotAFuture(f"{name!r}: only the front-month continuous contract ({match['root']}1!) is "
                         f"accepted; name the contract instead, e.g. {match['root']}H26.")
    return Future(match["root"], continuous=True)


def _dated(name: str) -> Future | None:
    match = _DATED_FORM.fullmatch(name)
    if match is None:
        return None
    return Future(match["root"], _month(int(match["month"]), name), int(match["year"]))


def _code(name: str) -> Future | None:
    match = _CODE_FORM.fullmatch(name)
    if match is None:
        return None
    year = int(match["year"])
    if len(match["year"]) == 4:
        if not 2000 <= year <= 2099:
            raise NotAFuture(f"{name!r}: the year {year} is out of range.")
        year -= 2000
    return Future(match["root"], MONTH_CODES.index(match["code"]) + 1, year)


def _bare(name: str) -> Future | None:
    if name in KNOWN_ROOTS:
        return Future(name)
    return None


def _month(month: int, name: str) -> int:
    if not 1 <= month <= 12:
        raise NotAFuture(f"{name!r}: the month must be 01 to 12.")
    return month
