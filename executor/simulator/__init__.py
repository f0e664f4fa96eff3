"""The venue simulator: a loopback HTTP server speaking the venues' wire protocols.

It is the test double of the suite (adapters are tested against it over real
HTTP), the engine of the local demo and the target of the benchmarks. Venue
modules (CoinW today) plug into one app over a venue-generic state, control
API (``/_sim/...``), request log, fault injection and rate limits.
"""
from __future__ import annotations

from executor.simulator.app import create_simulator_app
from executor.simulator.crosstrade.demo import DEMO_CROSSTRADE_ACCOUNT, DEMO_CROSSTRADE_TOKEN
from executor.simulator.bitget.demo import DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY
from executor.simulator.demo import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, seed_demo
from executor.simulator.server import SimulatorServer, serve, start_simulator
from executor.simulator.state import SimulatorState

__all__ = [
    "DEMO_BITGET_API_KEY",
    "DEMO_BITGET_PASSPHRASE",
    "DEMO_BITGET_SECRET_KEY",
    "DEMO_COINW_API_KEY",
    "DEMO_COINW_SECRET_KEY",
    "DEMO_CROSSTRADE_ACCOUNT",
    "DEMO_CROSSTRADE_TOKEN",
    "SimulatorServer",
    "SimulatorState",
    "create_simulator_app",
    "seed_demo",
    "serve",
    "start_simulator",
]
