"""Demo credentials and the demo world the CLI simulator starts with.

The demo credentials are registered in every simulator app, seeded or not,
so the local demo and tests can always sign with them. They protect nothing:
the simulator only listens on loopback and holds no real funds.
"""
from __future__ import annotations

from decimal import Decimal

from executor.simulator.state import SimulatorState

#: CoinW api_key accepted by every simulator.
DEMO_COINW_API_KEY = "demo-coinw-key"

#: CoinW secret_key matching ``DEMO_COINW_API_KEY``.
DEMO_COINW_SECRET_KEY = "demo-coinw-secret"  # noqa: S105 - a published demo value


def register_demo_coinw(state: SimulatorState) -> None:
    """Make the demo CoinW credentials valid on this state."""
    state.register_credentials("coinw", DEMO_COINW_API_KEY,
                               {"api_key": DEMO_COINW_API_KEY, "secret_key": DEMO_COINW_SECRET_KEY})


def seed_demo(state: SimulatorState) -> None:
    """Register the demo credentials and open the demo CoinW BTC long of 10 pieces."""
    register_demo_coinw(state)
    state.add_position("coinw", DEMO_COINW_API_KEY, "BTC", "long", Decimal("10"))
    from executor.simulator.crosstrade.demo import seed_demo_crosstrade  # the CrossTrade ES long of 2 in Sim101

    seed_demo_crosstrade(state)
    from executor.simulator.bitget.demo import seed_demo_bitget  # the venue module owns its demo world

    seed_demo_bitget(state)
