"""The CoinW perpetual-futures venue module of the simulator.

Wire facts and the simulator's own choices (undocumented codes, id format)
are listed in ``protocol``.
"""
from __future__ import annotations

from executor.simulator.coinw.protocol import present_position
from executor.simulator.coinw.routes import SPEC, blueprint
from executor.simulator.demo import register_demo_coinw
from executor.simulator.venue import VenueModule

MODULE = VenueModule(
    spec=SPEC,
    blueprint=blueprint,
    credential_fields=("api_key", "secret_key"),
    present_position=present_position,
    install=register_demo_coinw,
)

__all__ = ["MODULE"]
