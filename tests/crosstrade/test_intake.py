"""POST /webhook with CrossTrade's own rules: each refused with 400 naming the field, or queued normalised."""
from __future__ import annotations

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from tests.crosstrade.sim import alert


def post(client, **fields):
    return client.post("/webhook", json=alert(**fields))


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"order_type": "LIMIT"}, "limit_price", "needs limit_price"),
    ({"order_type": "STOPMARKET"}, "stop_price", "needs stop_price"),
    ({"order_type": "STOPLIMIT", "limit_price": "5800"}, "stop_price", "needs stop_price"),
    ({"limit_price": "5800"}, "limit_price", "MARKET order takes no limit_price"),
    ({"order_type": "LIMIT", "limit_price": "5800", "stop_price": "5790"}, "stop_price", "takes no stop_price"),
    ({"order_type": "TRAILING"}, "order_type", "Unknown order_type"),
    ({"time_in_force": "IOC"}, "time_in_force", "Unknown time_in_force"),
    ({"side": "up"}, "side", "Unknown side"),
    ({"qty": "1.5"}, "qty", "whole number of contracts"),
    ({"qty": "0"}, "qty", "greater than 0"),
    ({"position_id": "123"}, "position_id", "Not used by CrossTrade"),
    ({"action": "close", "price": "5800"}, "price", "Not used by CrossTrade"),
    ({"action": "close", "side": "buy"}, "side", "Only a reverse"),
    ({"action": "close", "order_type": "LIMIT"}, "order_type", "Only a reverse"),
    ({"symbol": "BTCUSDT.P"}, "symbol", "not a futures contract"),
    ({"symbol": "AAPL"}, "symbol", "not a futures contract"),
    ({"symbol": "ES2!"}, "symbol", "only the front-month continuous"),
])
def test_crosstrade_rule_is_answered_400_on_its_field(client, fields, field, words):
    answer = post(client, **fields)
    assert answer.status_code == 400, answer.json
    assert any(words in message for message in answer.json["fields"][field]), answer.json


@pytest.mark.parametrize("crosstrade_account", [None])
def test_no_account_anywhere_is_400_saying_where_to_set_it(client, crosstrade_account):
    answer = post(client)
    assert answer.status_code == 400
    assert "CROSSTRADE_ACCOUNT" in answer.json["fields"]["account"][0]


@pytest.mark.parametrize("crosstrade_account", [None])
def test_account_in_the_alert_is_enough_without_a_default(client, crosstrade_account):
    assert post(client, account="Sim102").status_code == 202


def test_accepted_alert_is_queued_with_crosstrades_fields_filled_in_and_normalised(client, redis):
    answer = post(client, symbol="CME_MINI:MESZ2025", side="Long", order_type="stoplimit", time_in_force="gtc",
                  limit_price="5801.5", stop_price="5800", qty=2)
    assert answer.status_code == 202, answer.json
    stored = Job.fetch(answer.json["job_id"], connection=redis, serializer=JSONSerializer).args[0]["alert"]
    assert stored == {"venue": "crosstrade", "action": "reverse", "symbol": "MESZ25", "qty": "2", "side": "BUY",
                      "account": "Sim101", "order_type": "STOPLIMIT", "time_in_force": "GTC",
                      "limit_price": "5801.5", "stop_price": "5800", "raw_symbol": "CME_MINI:MESZ2025"}


def test_reverse_defaults_are_written_into_the_job(client, redis):
    answer = post(client, symbol="ES1!")
    stored = Job.fetch(answer.json["job_id"], connection=redis, serializer=JSONSerializer).args[0]["alert"]
    assert stored["order_type"] == "MARKET" and stored["time_in_force"] == "DAY" and stored["account"] == "Sim101"
    assert "side" not in stored
