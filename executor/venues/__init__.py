"""The venues the product trades on, by name."""
from __future__ import annotations

from executor.venues.bitget import SPEC as BITGET
from executor.venues.coinw import SPEC as COINW
from executor.venues.crosstrade import SPEC as CROSSTRADE
from executor.venues.spec import VenueSpec

VENUE_SPECS: dict[str, VenueSpec] = {spec.name: spec for spec in (COINW, BITGET, CROSSTRADE)}


def get_venue(name: str) -> VenueSpec:
    return VENUE_SPECS[name]
