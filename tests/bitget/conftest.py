"""Fixtures: the web app, queue and worker wired to the simulator's demo Bitget account.

``settings`` overrides the root fixture so ``client`` and ``run_jobs`` use
Bitget's demo credentials. Whatever a test changes on the shared simulator
(the account's position mode or secret, the simulator clock, Bitget's venue
options) is put back.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from config.secrets import Secret
from config.settings import BitgetSettings, Settings
from executor.simulator import DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY
from executor.simulator.bitget.demo import register_demo_bitget
from tests.bitget.helpers import BitgetSim


@pytest.fixture
def settings(settings: Settings, simulator) -> Settings:
    return dataclasses.replace(settings, bitget=BitgetSettings(
        base_url=simulator.base_url, api_key=DEMO_BITGET_API_KEY, secret_key=Secret(DEMO_BITGET_SECRET_KEY),
        passphrase=Secret(DEMO_BITGET_PASSPHRASE)))


@pytest.fixture(autouse=True)
def sim(simulator) -> Iterator[BitgetSim]:
    """The simulator's Bitget side; afterwards the demo account and the clock are as they were."""
    now = simulator.state.now
    yield BitgetSim(simulator)
    simulator.state.now = now
    simulator.state.config.venue_options.pop("bitget", None)
    register_demo_bitget(simulator.state)


@pytest.fixture
def hedge(sim: BitgetSim) -> BitgetSim:
    """The demo account in hedge mode."""
    sim.set_mode("hedge_mode")
    return sim
