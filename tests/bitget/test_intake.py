"""Bitget's own intake rules: answered 400 naming the field, before anything is queued."""
from __future__ import annotations

import dataclasses

import pytest

from config.settings import BitgetSettings
from executor.app import create_app
from executor.simulator import DEMO_BITGET_API_KEY
from tests.bitget.helpers import job, send


@pytest.mark.parametrize("field, value", [
    ("position_id", "123"), ("price", "70000"), ("time_in_force", "GTC"),
    ("limit_price", "70000"), ("stop_price", "69000"), ("order_type", "limit"),
])
def test_fields_bitget_does_not_use_are_refused_by_name(client, field, value):
    answer = send(client, expect=400, action="close", **{field: value})
    assert "Not used by Bitget." in answer["fields"][field]


@pytest.mark.parametrize("side", ["buy", "sell", "both", "flat"])
def test_side_other_than_long_or_short_is_refused(client, side):
    answer = send(client, expect=400, action="reverse", side=side)
    assert "long or short" in answer["fields"]["side"][0]


def test_side_is_case_insensitive_and_the_symbol_becomes_bitgets(client):
    job_id = send(client, action="reverse", side=" SHORT ")
    alert = job(client, job_id)["alert"]
    assert alert["side"] == "short" and alert["symbol"] == "BTCUSDT"


def test_a_bitget_alert_is_refused_when_bitget_is_not_configured(settings, redis, clock):
    app = create_app(dataclasses.replace(settings, bitget=BitgetSettings(api_key=DEMO_BITGET_API_KEY)), clock=clock)
    answer = send(app.test_client(), expect=400, action="reverse")
    assert "BITGET_PASSPHRASE" in answer["fields"]["venue"][0]
