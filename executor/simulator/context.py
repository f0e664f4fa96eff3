"""Where the simulator keeps its state and venue modules inside a Flask app."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueModule

#: Key of the simulator's entry in ``app.extensions``.
EXTENSION_KEY = "simulator"


@dataclass
class SimulatorExtension:
    state: SimulatorState
    venues: dict[str, VenueModule] = field(default_factory=dict)


def extension_of(app: Flask) -> SimulatorExtension:
    extension: SimulatorExtension = app.extensions[EXTENSION_KEY]
    return extension


def current_extension() -> SimulatorExtension:
    return extension_of(current_app)


def current_state() -> SimulatorState:
    return current_extension().state
