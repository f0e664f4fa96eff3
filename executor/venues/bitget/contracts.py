"""Bitget's contract metadata (``GET /api/v2/mix/market/contracts``): the size rules of each symbol, cached.

A size must be a multiple of ``sizeMultiplier``, have at most ``volumePlace``
decimals and be at least ``minTradeNum``. These, not how a position's size
happens to be written, decide how a partial size is rounded.

The cache lives in the worker process's memory, one ``ContractBook`` per
adapter, shared by every job the worker runs. Not Redis, because:

- the metadata is public and the same for every process, so there is nothing
  to keep consistent between processes: each refreshes its own copy after
  ``CONTRACT_TTL_SECONDS`` or as soon as the venue refuses a size as badly
  scaled (40808);
- a hit costs nothing on the signal path, where Redis would add a round trip
  to every partial close;
- a miss costs one public request, charged to the shared rate limiter like
  every venue request (``contracts``, 20/s): with a handful of symbols per
  process and a refresh every ten minutes, nowhere near the limit.

A worker in ``fork`` mode runs each job in a fresh child process, so there a
partial close fetches the metadata once per job.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from math import lcm
from typing import Any, Callable

from executor.errors import JobFailed

#: How long a symbol's metadata is trusted before it is fetched again (a 40808 refreshes it at once).
CONTRACT_TTL_SECONDS = 600.0

#: Fetches the contract rows of one symbol (the raw client's ``contracts``).
Fetch = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class ContractSpec:
    """The size rules of one symbol, as the contracts endpoint gives them."""

    symbol: str
    volume_place: int
    size_multiplier: Decimal
    min_trade_num: Decimal

    @property
    def step(self) -> Decimal:
        """The smallest size increment that is a multiple of ``sizeMultiplier`` within ``volumePlace`` decimals."""
        places = Decimal(1).scaleb(-self.volume_place)
        if self.size_multiplier <= 0:
            return places
        scale = max(self.volume_place, -_exponent(self.size_multiplier))
        whole = lcm(int(self.size_multiplier.scaleb(scale)), int(places.scaleb(scale)))
        return Decimal(whole).scaleb(-scale)

    def round_down(self, size: Decimal) -> Decimal:
        """``size`` rounded down to a multiple of the step."""
        step = self.step
        return ((size / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(step)

    def to_record(self) -> dict[str, str]:
        """What the job's record keeps of the rules a size was rounded by."""
        return {"step": _plain(self.step), "min_size": _plain(self.min_trade_num),
                "volume_place": str(self.volume_place), "size_multiplier": _plain(self.size_multiplier)}


def parse_contract(symbol: str, rows: list[dict[str, Any]]) -> ContractSpec:
    """The spec of ``symbol`` among the endpoint's rows; ``JobFailed`` when it is missing or unreadable."""
    row = next((r for r in rows if str(r.get("symbol", "")).upper() == symbol.upper()), None)
    if row is None:
        raise JobFailed(f"Bitget lists no contract {symbol} for this product type; check the symbol")
    try:
        spec = ContractSpec(symbol.upper(), int(str(row["volumePlace"])), Decimal(str(row["sizeMultiplier"])),
                            Decimal(str(row["minTradeNum"])))
    except (KeyError, ValueError, InvalidOperation):
        spec = None
    if spec is None or not 0 <= spec.volume_place <= 18 or not spec.size_multiplier.is_finite() \
            or spec.size_multiplier < 0 or not spec.min_trade_num.is_finite() or spec.min_trade_num < 0:
        fields = {name: row.get(name) for name in ("volumePlace", "sizeMultiplier", "minTradeNum")}
        raise JobFailed(f"Bitget's contract metadata for {symbol} cannot be read: {fields}")
    return spec


class ContractBook:
    """Contract specs per symbol, kept ``ttl`` seconds; refreshed on demand when the venue refuses a size."""

    def __init__(self, fetch: Fetch, *, ttl: float = CONTRACT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        # One worker runs one job at a time; a dict read or write is atomic, so no lock is needed.
        self._specs: dict[str, tuple[ContractSpec, float]] = {}

    def get(self, symbol: str) -> ContractSpec:
        """The symbol's spec: from memory while fresh, else from the venue."""
        held = self._specs.get(symbol.upper())
        if held is not None and self._clock() - held[1] < self._ttl:
            return held[0]
        return self.refresh(symbol)

    def refresh(self, symbol: str) -> ContractSpec:
        """Fetch the symbol's spec now and keep it (after the venue refused a size as badly scaled)."""
        spec = parse_contract(symbol, self._fetch(symbol))
        self._specs[symbol.upper()] = (spec, self._clock())
        return spec

    def forget(self, symbol: str) -> None:
        """Drop what is held for the symbol: the next ``get`` fetches it."""
        self._specs.pop(symbol.upper(), None)


def _exponent(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text
