"""How much to send: an alert's size fitted to the contract's rules, before anything is sent.

A size the alert gives (``qty``, or ``ratio`` of the position) is rounded down
to the contract's step (``sizeMultiplier`` within ``volumePlace`` decimals,
see ``contracts``); a size that ends up under ``minTradeNum`` is refused with
a message saying so, and nothing is sent. A size the alert does not give is
the whole position, which the venue already holds in valid steps.
"""
from __future__ import annotations

from decimal import Decimal

from executor.domain import Alert, Position
from executor.errors import JobFailed
from executor.venues.bitget.contracts import ContractSpec
from executor.venues.bitget.positions import HEDGE_MODE, pos_mode, size_text


def needs_contract(alert: Alert) -> bool:
    """True when the alert names a size of its own, which must be fitted to the contract's rules."""
    return alert.qty is not None or alert.ratio is not None


def reverse_size(alert: Alert, position: Position, contract: ContractSpec | None) -> Decimal:
    """``qty`` fitted to the contract, else the whole position; one-way mode can only reverse it whole."""
    if alert.qty is None:
        return position.size
    if pos_mode(position) != HEDGE_MODE and alert.qty < position.size:
        raise JobFailed(f"Bitget reverses the whole {position.side} {position.symbol} position of {position.size} "
                        f"in one-way mode, not qty {alert.qty}; leave qty out or switch the account to hedge mode")
    assert contract is not None
    return fit(alert.qty, contract, f"reverse qty {alert.qty} of the {position.side} {position.symbol} position")


def close_size(alert: Alert, position: Position, contract: ContractSpec) -> Decimal:
    """The part to close: ``qty`` (at most the position) or ``ratio`` of it, fitted to the contract."""
    if alert.qty is not None:
        if alert.qty > position.size:
            raise JobFailed(f"close qty {alert.qty} exceeds the open Bitget {position.side} {position.symbol} "
                            f"position of {position.size}")
        return fit(alert.qty, contract, f"close qty {alert.qty} of the {position.side} {position.symbol} "
                                        f"position of {size_text(position)}")
    assert alert.ratio is not None
    return fit(position.size * alert.ratio, contract, f"close ratio {alert.ratio} of the {position.side} "
                                                      f"{position.symbol} position of {size_text(position)}")


def fit(requested: Decimal, contract: ContractSpec, what: str) -> Decimal:
    """``requested`` rounded down to the contract's step; ``JobFailed`` when that is under the minimum."""
    size = contract.round_down(requested)
    if size <= 0 or size < contract.min_trade_num:
        rules = contract.to_record()
        raise JobFailed(f"{what} comes to {size.normalize():f} at Bitget's size step {rules['step']}, under the "
                        f"contract's minimum size {rules['min_size']} (minTradeNum); nothing was sent")
    return size
