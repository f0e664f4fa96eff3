"""CrossTrade's demo token and accounts, registered in every simulator app.

They protect nothing: the simulator listens on loopback and holds no funds.
"""
from __future__ import annotations

from decimal import Decimal

from executor.simulator.state import SimulatorState

#: Bearer token accepted by every simulator.
DEMO_CROSSTRADE_TOKEN = "demo-crosstrade-token"  # noqa: S105 - a published demo value

#: The account alerts use when they name none (set CROSSTRADE_ACCOUNT to it).
DEMO_CROSSTRADE_ACCOUNT = "Sim101"

#: Every account the demo token sees.
DEMO_CROSSTRADE_ACCOUNTS = ("Sim101", "Sim102")

#: The demo world's position: ES long of 2 in Sim101, at this average price.
DEMO_CROSSTRADE_POSITION = ("ES", "long", Decimal("2"), Decimal("5779.25"))


def register_demo_crosstrade(state: SimulatorState) -> None:
    """Make the demo token valid on this state, for the demo accounts."""
    state.register_credentials("crosstrade", DEMO_CROSSTRADE_TOKEN,
                               {"token": DEMO_CROSSTRADE_TOKEN, "accounts": ",".join(DEMO_CROSSTRADE_ACCOUNTS)})


def seed_demo_crosstrade(state: SimulatorState) -> None:
    """Register the demo token and open the demo ES long of 2 in Sim101."""
    register_demo_crosstrade(state)
    instrument, direction, size, price = DEMO_CROSSTRADE_POSITION
    state.add_position("crosstrade", DEMO_CROSSTRADE_ACCOUNT, instrument, direction, size, open_price=price)
