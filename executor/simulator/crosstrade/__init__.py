"""The CrossTrade (NinjaTrader 8 bridge) venue module of the simulator.

Wire facts and the simulator's own choices are listed in ``protocol``
(errors, statuses), ``instruments`` (names, front month), ``auth`` (token,
accounts, rate limit) and ``engine`` (what each action does).

Venue options (``POST /_sim/config {"venue_options": {"crosstrade": {...}}}``):

- ``connected`` (default true): false answers every authenticated request
  HTTP 408 ``not_connected``, as when NinjaTrader is closed. A one-off 408 is
  a fault: ``{"venue": "crosstrade", "kind": "reject", "status": 408,
  "code": "not_connected"}`` answers it before anything is done; with
  ``"when": "after"`` the request is performed first and its answer replaced
  by the 408, as from a relay that timed out after forwarding (CrossTrade
  does not promise that a 408 means nothing was done).
- ``front_month`` (default ``03-26``): the expiry ``ES`` and ``ES1!`` resolve to.

The control API's ``api_key`` field is the CrossTrade *account* (``Sim101``),
since positions belong to accounts; its ``instrument`` may be any accepted name.
"""
from __future__ import annotations

from executor.simulator.crosstrade.demo import register_demo_crosstrade
from executor.simulator.crosstrade.protocol import present_position
from executor.simulator.crosstrade.routes import SPEC, blueprint
from executor.simulator.venue import VenueModule

MODULE = VenueModule(
    spec=SPEC,
    blueprint=blueprint,
    credential_fields=("token",),
    present_position=present_position,
    install=register_demo_crosstrade,
)

__all__ = ["MODULE"]
