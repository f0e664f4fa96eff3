"""The Bitget v2 mix futures venue module of the simulator.

Wire facts and the simulator's own choices (undocumented codes) are listed in
``protocol``; the position mode per API key in ``engine``.
"""
from __future__ import annotations

from typing import Any

from executor.simulator.bitget import engine
from executor.simulator.bitget.demo import register_demo_bitget
from executor.simulator.bitget.protocol import present_position
from executor.simulator.bitget.routes import SPEC, blueprint
from executor.simulator.context import current_state
from executor.simulator.models import Position
from executor.simulator.venue import VenueModule


def present_for_control(position: Position) -> dict[str, Any]:
    """A position as single-position shows it, in its account's position mode (control API requests only)."""
    return present_position(position, engine.account_mode(current_state(), position.account))


MODULE = VenueModule(
    spec=SPEC,
    blueprint=blueprint,
    credential_fields=("api_key", "secret_key", "passphrase"),
    present_position=present_for_control,
    install=register_demo_bitget,
)

__all__ = ["MODULE"]
