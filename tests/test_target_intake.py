"""The target-position fields at intake: ``market_position`` instead of ``action``, ``prev_market_position`` with it,
each refusal a 400 naming the field."""
from __future__ import annotations

import pytest

from executor.jobview import fetch_job
from executor.replay import summary_line
from tests.conftest import WEBHOOK_SECRET
from tests.venue_drivers import all_venue_settings


def alert(**fields):
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "symbol": "BTCUSDT.P", **fields}
    return {key: value for key, value in body.items() if value is not None}


def test_a_target_alert_is_queued_with_its_positions_lower_cased_and_no_action(client, redis):
    answer = client.post("/webhook", json=alert(market_position=" Short ", prev_market_position="LONG"))
    assert answer.status_code == 202, answer.json
    job = fetch_job(redis, answer.json["job_id"])
    assert job.args[0]["alert"] == {"venue": "coinw", "symbol": "BTC", "raw_symbol": "BTCUSDT.P",
                                    "market_position": "short", "prev_market_position": "long"}
    assert job.description == "to short coinw BTC"
    assert "  to short  " in summary_line(job)


def test_action_and_market_position_together_are_400_naming_both(client):
    answer = client.post("/webhook", json=alert(action="reverse", market_position="long"))
    assert answer.status_code == 400
    assert answer.json["fields"] == {"action": ["Give action or market_position, not both."],
                                     "market_position": ["Give action or market_position, not both."]}


def test_neither_action_nor_market_position_is_400_saying_either_is_needed(client):
    answer = client.post("/webhook", json=alert())
    assert answer.status_code == 400
    assert answer.json["fields"] == {"action": ["Give action (reverse or close) or market_position (long, short "
                                                "or flat)."]}


@pytest.mark.parametrize("field", ["market_position", "prev_market_position"])
@pytest.mark.parametrize("value", ["buy", "", 1, "{{strategy.market_position}}"])
def test_a_position_other_than_long_short_or_flat_is_400(client, field, value):
    answer = client.post("/webhook", json=alert(**{"market_position": "long", field: value}))
    assert answer.status_code == 400 and field in answer.json["fields"], answer.json


def test_prev_market_position_without_market_position_is_400(client):
    answer = client.post("/webhook", json=alert(action="close", prev_market_position="long"))
    assert answer.status_code == 400
    assert answer.json["fields"] == {"prev_market_position": ["Only with market_position."]}


@pytest.mark.parametrize("field, value", [
    ("qty", "1"), ("ratio", "0.5"), ("price", "70000"), ("position_id", "123"), ("side", "long"),
    ("order_type", "LIMIT"), ("time_in_force", "GTC"), ("limit_price", "5000"), ("stop_price", "4900"),
])
def test_a_target_alert_refuses_the_fields_of_a_single_action(client, field, value):
    answer = client.post("/webhook", json=alert(market_position="flat", **{field: value}))
    assert answer.status_code == 400
    assert answer.json["fields"][field] == ["A target position (market_position) is reached by reversing or "
                                            "closing the whole position at market: leave this field out."]


@pytest.mark.parametrize("venue, symbol", [("bitget", "BTCUSDT.P"), ("crosstrade", "ES1!")])
def test_every_venue_takes_a_target_alert(client, app, settings, simulator, venue, symbol):
    app.extensions["executor"].settings = all_venue_settings(settings, simulator)
    answer = client.post("/webhook", json=alert(venue=venue, symbol=symbol, market_position="flat"))
    assert answer.status_code == 202, answer.json
