"""CrossTrade fixtures: the root ``settings`` with CrossTrade pointed at the simulator.

``crosstrade_token`` and ``crosstrade_account`` are fixtures so a test can
parametrize them (a wrong token, no default account) and still get ``client``
and ``run_jobs`` built from those settings.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from config.secrets import Secret
from config.settings import CrossTradeSettings, Settings
from executor.simulator import DEMO_CROSSTRADE_ACCOUNT, DEMO_CROSSTRADE_TOKEN
from executor.simulator.crosstrade.demo import register_demo_crosstrade


@pytest.fixture
def crosstrade_token() -> str:
    return DEMO_CROSSTRADE_TOKEN


@pytest.fixture
def crosstrade_account() -> str | None:
    return DEMO_CROSSTRADE_ACCOUNT


@pytest.fixture
def settings(settings: Settings, simulator, crosstrade_token: str, crosstrade_account: str | None) -> Settings:
    return dataclasses.replace(settings, crosstrade=CrossTradeSettings(
        base_url=simulator.base_url, token=Secret(crosstrade_token), account=crosstrade_account))


@pytest.fixture(autouse=True)
def crosstrade_simulator(simulator) -> Iterator[None]:
    """Leave the simulator's CrossTrade options and demo token as every other test expects them."""
    yield
    simulator.state.config.venue_options.pop("crosstrade", None)
    register_demo_crosstrade(simulator.state)
