"""Bitget's contract metadata in the simulator: what ``GET /api/v2/mix/market/contracts`` lists, and the size
rules the order endpoints enforce with it.

Each symbol has ``volumePlace`` (decimals a size may have), ``sizeMultiplier``
(a size is a multiple of it) and ``minTradeNum`` (the smallest size). A
size with more decimals than ``volumePlace`` is refused with Bitget's 40808
("size checkBDScale error value=0.005 checkScale=2", its documented text);
the simulator also answers 40808 for a size that is not a multiple of
``sizeMultiplier``, and 45110 for one under ``minTradeNum`` (both simulator
choices: Bitget documents neither code).

``BTCUSDT`` and ``ETHUSDT`` carry Bitget's published values; any other symbol
gets ``DEFAULT_SPEC`` (a simulator choice, so positions on any symbol can be
traded). A test changes a symbol's rules with ``POST /_sim/config
{"venue_options": {"bitget": {"contracts": {"BTCUSDT": {"volumePlace": "2",
"sizeMultiplier": "0.01", "minTradeNum": "0.01"}}}}}``: the fields given
replace the defaults, and the endpoint and the order checks see them at once.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from executor.simulator.bitget import protocol as p
from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueError

#: Published rules of two USDT-FUTURES symbols.
KNOWN_SPECS: dict[str, dict[str, str]] = {
    "BTCUSDT": {"volumePlace": "4", "sizeMultiplier": "0.0001", "minTradeNum": "0.0001", "pricePlace": "1",
                "priceEndStep": "1"},
    "ETHUSDT": {"volumePlace": "2", "sizeMultiplier": "0.01", "minTradeNum": "0.01", "pricePlace": "2",
                "priceEndStep": "1"},
}

#: The rules of any other symbol (a simulator choice).
DEFAULT_SPEC = {"volumePlace": "4", "sizeMultiplier": "0.0001", "minTradeNum": "0.0001", "pricePlace": "2",
                "priceEndStep": "1"}

#: Code for a size under ``minTradeNum`` (a simulator choice).
CODE_BELOW_MINIMUM = "45110"


def spec(state: SimulatorState, symbol: str) -> dict[str, str]:
    """A symbol's rules: the published or default ones, with the test's overrides over them."""
    overrides = state.venue_options(p.VENUE).get("contracts") or {}
    given = overrides.get(symbol.upper()) if isinstance(overrides, dict) else None
    return {**KNOWN_SPECS.get(symbol.upper(), DEFAULT_SPEC),
            **({k: str(v) for k, v in given.items()} if isinstance(given, dict) else {})}


def present(state: SimulatorState, symbol: str, product_type: str) -> dict[str, Any]:
    """One row of the contracts endpoint, numbers as strings as on the venue."""
    name = symbol.upper()
    quote = "USDC" if "USDC" in product_type else "USDT"
    return {"symbol": name, "baseCoin": name.removesuffix(quote) or name, "quoteCoin": quote,
            "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05", "feeRateUpRatio": "0.005",
            "makerFeeRate": "0.0002", "takerFeeRate": "0.0006", "openCostUpRatio": "0.01",
            "supportMarginCoins": [quote], "symbolType": "perpetual", "symbolStatus": "normal",
            "minTradeUSDT": "5", "maxSymbolOrderNum": "200", "maxProductOrderNum": "400",
            "maxPositionNum": "150", "minLever": "1", "maxLever": "125", "fundInterval": "8",
            **spec(state, name)}


def check_size(state: SimulatorState, symbol: str, size: Decimal) -> None:
    """Refuse a size the symbol's rules do not allow, as the venue would; nothing is done."""
    places, multiplier, minimum = _rules(spec(state, symbol))
    exponent = size.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if decimals > places:
        raise VenueError(p.CODE_SCALE, f"size checkBDScale error value={size.normalize():f} checkScale={places}")
    if multiplier > 0 and size % multiplier != 0:
        raise VenueError(p.CODE_SCALE, f"size checkBDScale error value={size.normalize():f} "
                                       f"sizeMultiplier={multiplier.normalize():f}")
    if size < minimum:
        raise VenueError(CODE_BELOW_MINIMUM, f"The order size {size.normalize():f} is less than the minimum "
                                             f"order quantity {minimum.normalize():f}")


def _rules(fields: dict[str, str]) -> tuple[int, Decimal, Decimal]:
    try:
        return int(fields["volumePlace"]), Decimal(fields["sizeMultiplier"]), Decimal(fields["minTradeNum"])
    except (KeyError, ValueError, InvalidOperation):
        raise VenueError(p.CODE_INVALID_PARAMETER, f"simulator: unusable contract rules {fields}") from None
