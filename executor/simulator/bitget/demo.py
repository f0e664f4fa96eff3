"""Bitget's demo credentials and demo position.

Registered in every simulator app, so the local demo and tests can always
sign with them. They protect nothing: the simulator only listens on loopback.
The demo account starts in one-way mode; ``POST /_sim/credentials`` with
``"pos_mode": "hedge_mode"`` switches it.
"""
from __future__ import annotations

from decimal import Decimal

from executor.simulator.state import SimulatorState

#: Bitget ACCESS-KEY accepted by every simulator.
DEMO_BITGET_API_KEY = "demo-bitget-key"

#: Bitget secret key matching ``DEMO_BITGET_API_KEY``.
DEMO_BITGET_SECRET_KEY = "demo-bitget-secret"  # noqa: S105 - a published demo value

#: Bitget passphrase matching ``DEMO_BITGET_API_KEY``.
DEMO_BITGET_PASSPHRASE = "demo-bitget-passphrase"  # noqa: S105 - a published demo value


def register_demo_bitget(state: SimulatorState) -> None:
    """Make the demo Bitget credentials valid on this state (one-way mode)."""
    state.register_credentials("bitget", DEMO_BITGET_API_KEY, {
        "api_key": DEMO_BITGET_API_KEY, "secret_key": DEMO_BITGET_SECRET_KEY,
        "passphrase": DEMO_BITGET_PASSPHRASE, "pos_mode": "one_way_mode"})


def seed_demo_bitget(state: SimulatorState) -> None:
    """Register the demo credentials and open the demo BTCUSDT long of 0.01."""
    register_demo_bitget(state)
    state.add_position("bitget", DEMO_BITGET_API_KEY, "BTCUSDT", "long", Decimal("0.01"))
