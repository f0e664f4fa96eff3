"""Alert -> Redis -> worker -> CrossTrade simulator over HTTP, and the job's record afterwards."""
from __future__ import annotations

import json

import pytest

from executor.simulator import DEMO_CROSSTRADE_TOKEN
from tests.crosstrade.sim import (CONTRACT, FLATTEN_EVERYTHING, add_fault, bodies, configure, job, open_position,
                                  orders, positions, send, sent)

pytestmark = pytest.mark.e2e

REVERSE = "/v1/api/accounts/Sim101/positions/reverseposition"
CLOSE = "/v1/api/accounts/Sim101/positions/close"


@pytest.fixture(autouse=True)
def never_flatten_everything(simulator):
    """Whatever a test does, the unfiltered flatten-everything request is never sent."""
    yield
    assert not [r for r in sent(simulator) if r["path"] == FLATTEN_EVERYTHING]


def only(items):
    assert len(items) == 1, items
    return items[0]


def test_reverse_turns_a_long_short_with_the_positions_quantity(client, simulator, run_jobs):
    open_position(simulator, "long", 2)
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    path, body = only(bodies(simulator))
    assert path == REVERSE
    assert body == {"instrument": CONTRACT, "action": "SELL", "quantity": 2, "orderType": "MARKET",
                    "timeInForce": "DAY"}
    after = only(positions(simulator))
    assert after["marketPosition"] == "Short" and after["quantity"] == 2
    assert view["result"]["order_id"] == only(orders(simulator))["id"]
    before = view["attempts"][0]["notes"]["position_before"]
    assert before["direction"] == "long" and before["quantity"] == "2" and before["account"] == "Sim101"
    get = sent(simulator, "GET")[0]
    assert get["path"] == "/v1/api/accounts/Sim101/position" and get["query"] == "instrument=ES%2003-26"
    assert DEMO_CROSSTRADE_TOKEN not in json.dumps(view)


def test_reverse_with_qty_places_that_quantity(client, simulator, run_jobs):
    open_position(simulator, "short", 3)
    send(client, action="reverse", qty=1)
    run_jobs()
    assert only(bodies(simulator))[1]["quantity"] == 1
    after = only(positions(simulator))
    assert after["marketPosition"] == "Long" and after["quantity"] == 1


def test_reverse_with_side_sends_that_side_instead_of_the_opposite(client, simulator, run_jobs):
    open_position(simulator, "short", 3)
    send(client, action="reverse", side="short")
    run_jobs()
    assert only(bodies(simulator))[1]["action"] == "SELL"
    assert only(positions(simulator))["marketPosition"] == "Short"


def test_reverse_with_a_limit_passes_the_order_fields_through(client, simulator, run_jobs):
    open_position(simulator, "long", 2)
    job_id = send(client, action="reverse", order_type="limit", time_in_force="gtc", limit_price="5790.25")
    run_jobs()
    assert job(client, job_id)["status"] == "finished"
    body = only(bodies(simulator))[1]
    assert body == {"instrument": CONTRACT, "action": "SELL", "quantity": 2, "orderType": "LIMIT",
                    "timeInForce": "GTC", "limitPrice": 5790.25}
    order = only(orders(simulator))
    assert order["status"] == "working" and order["price"] == "5790.25"
    assert positions(simulator) == []


def test_stop_limit_reverse_sends_both_prices(client, simulator, run_jobs):
    open_position(simulator, "short", 1)
    send(client, action="reverse", order_type="STOPLIMIT", limit_price="5801", stop_price="5800.5")
    run_jobs()
    body = only(bodies(simulator))[1]
    assert body["orderType"] == "STOPLIMIT" and body["limitPrice"] == 5801 and body["stopPrice"] == 5800.5


def test_close_by_qty_leaves_the_rest_open(client, simulator, run_jobs):
    open_position(simulator, "long", 3)
    send(client, action="close", qty=2)
    run_jobs()
    assert only(bodies(simulator)) == (CLOSE, {"instrument": CONTRACT, "quantity": 2})
    assert only(positions(simulator))["quantity"] == 1


def test_close_by_ratio_sends_a_percent_rounded_up_by_the_venue(client, simulator, run_jobs):
    open_position(simulator, "short", 3)
    send(client, action="close", ratio="0.5")
    run_jobs()
    assert only(bodies(simulator)) == (CLOSE, {"instrument": CONTRACT, "percent": 0.5})
    assert only(positions(simulator))["quantity"] == 1


def test_close_without_size_sends_the_open_quantity_explicitly(client, simulator, run_jobs):
    open_position(simulator, "long", 4)
    job_id = send(client, action="close")
    run_jobs()
    assert only(bodies(simulator)) == (CLOSE, {"instrument": CONTRACT, "quantity": 4})
    assert positions(simulator) == []
    assert job(client, job_id)["result"]["closed"][0]["quantity"] == 4


def test_close_of_more_than_is_open_fails_before_sending(client, simulator, run_jobs):
    open_position(simulator, "long", 2)
    job_id = send(client, action="close", qty=3)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed" and "exceeds" in view["error"]["message"]
    assert sent(simulator, "POST") == []


@pytest.mark.parametrize("action", ["reverse", "close"])
def test_flat_fails_clearly_and_sends_nothing(client, simulator, run_jobs, action):
    job_id = send(client, action=action)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed" and view["error"]["type"] == "PositionNotFound"
    assert "no open ES 03-26 position in account Sim101" in view["error"]["message"]
    assert sent(simulator, "POST") == []


def test_no_position_error_from_the_venue_fails_as_position_not_found(client, simulator, run_jobs):
    open_position(simulator, "long", 1)
    add_fault(simulator, kind="reject", path=REVERSE, status=404, code="No position found for instrument "
              "'ES 03-26' in account 'Sim101'")
    job_id = send(client, action="reverse")
    run_jobs()
    assert job(client, job_id)["error"]["type"] == "PositionNotFound"


def test_account_comes_from_settings_when_the_alert_names_none(client, simulator, run_jobs):
    open_position(simulator, "long", 1, account="Sim101")
    open_position(simulator, "long", 1, account="Sim102")
    job_id = send(client, action="close")
    run_jobs()
    assert job(client, job_id)["alert"]["account"] == "Sim101"
    assert only(positions(simulator))["account"] == "Sim102"


def test_account_named_in_the_alert_wins_whatever_its_case(client, simulator, run_jobs):
    open_position(simulator, "long", 1, account="Sim101")
    open_position(simulator, "long", 1, account="Sim102")
    send(client, action="close", account="sim102")
    run_jobs()
    assert only(sent(simulator, "POST"))["path"] == "/v1/api/accounts/sim102/positions/close"
    assert only(positions(simulator))["account"] == "Sim101"


def test_unknown_account_is_rejected_with_the_venues_words(client, simulator, run_jobs):
    job_id = send(client, action="close", account="Sim999")
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "VenueRejected" and error["code"] == "invalid_account"
    assert error["venue_message"] == "Account Sim999 not found"


@pytest.mark.parametrize("how", ["switch", "fault"])
def test_not_connected_defers_the_job_and_changes_nothing(client, simulator, run_jobs, how):
    open_position(simulator, "long", 2)
    if how == "switch":
        configure(simulator, connected=False)
    else:
        add_fault(simulator, kind="reject", status=408, code="not_connected", message="add-on not connected")
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "deferred", view
    assert view["deferred"]["reason"] == "not_connected"
    assert orders(simulator) == [] and only(positions(simulator))["marketPosition"] == "Long"


def test_rate_limit_answer_defers_the_job(client, simulator, run_jobs):
    open_position(simulator, "long", 2)
    add_fault(simulator, kind="rate_limit")
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "deferred" and view["deferred"]["reason"] == "rate_limit"


@pytest.mark.parametrize("crosstrade_token", ["not-the-crosstrade-token"])
def test_wrong_token_is_rejected_and_never_shown(client, simulator, run_jobs, crosstrade_token):
    open_position(simulator, "long", 2)
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed"
    assert view["error"]["type"] == "VenueRejected" and view["error"]["http_status"] == 401
    assert crosstrade_token not in json.dumps(view)
    assert only(positions(simulator))["marketPosition"] == "Long"


def test_continuous_ticker_is_sent_as_written(client, simulator, run_jobs):
    open_position(simulator, "long", 1, instrument="ES")
    job_id = send(client, action="reverse", symbol="CME_MINI:ES1!")
    run_jobs()
    view = job(client, job_id)
    assert view["alert"]["symbol"] == "ES" and view["alert"]["raw_symbol"] == "CME_MINI:ES1!"
    assert only(bodies(simulator))[1]["instrument"] == "ES1!"
    assert only(positions(simulator))["marketPosition"] == "Short"
