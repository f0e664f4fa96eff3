"""The simulator's Flask app factory: control API plus one blueprint per venue."""
from __future__ import annotations

from typing import Iterable

from flask import Flask

from executor.simulator import control
from executor.simulator.context import EXTENSION_KEY, SimulatorExtension, extension_of
from executor.simulator.dropping import DropConnectionMiddleware
from executor.simulator.state import SimulatorState
from executor.simulator.venue import VenueModule


def default_venue_modules() -> list[VenueModule]:
    """Every venue the simulator speaks; later venues append their module here."""
    from executor.simulator.bitget import MODULE as BITGET
    from executor.simulator.coinw import MODULE as COINW
    from executor.simulator.crosstrade import MODULE as CROSSTRADE

    return [COINW, BITGET, CROSSTRADE]


def create_simulator_app(state: SimulatorState | None = None,
                         venues: Iterable[VenueModule] | None = None) -> Flask:
    """A simulator app over ``state`` (a fresh one by default) with its venue modules."""
    app = Flask("executor.simulator")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = SimulatorExtension(state if state is not None else SimulatorState())
    app.register_blueprint(control.blueprint)
    for module in venues if venues is not None else default_venue_modules():
        add_venue(app, module)
    app.wsgi_app = DropConnectionMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def add_venue(app: Flask, module: VenueModule) -> None:
    """Plug one venue module into the app and register its built-in credentials."""
    extension = extension_of(app)
    extension.venues[module.name] = module
    app.register_blueprint(module.blueprint)
    module.install(extension.state)
