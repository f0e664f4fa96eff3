"""Alert -> queue -> worker -> Bitget simulator: reversals in one-way and hedge mode."""
from __future__ import annotations

import pytest

from tests.bitget.helpers import BACKHAND, SINGLE_POSITION, job, send

pytestmark = pytest.mark.e2e


def test_one_way_reverse_flips_the_whole_position_with_the_opposite_side_and_no_trade_side(client, sim, run_jobs):
    sim.open("long", "0.5")
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert sim.positions() == {"short": "0.5"}
    (body,) = sim.bodies(BACKHAND)
    assert body == {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT", "size": "0.5",
                    "side": "sell", "clientOid": view["result"]["client_oid"]}
    (order,) = sim.orders()
    assert view["result"]["order_id"] == order["id"]
    assert view["attempts"][0]["notes"]["position_before"]["side"] == "long"


def test_reverse_without_qty_sends_the_size_read_from_single_position(client, sim, run_jobs):
    sim.open("short", "0.037")
    send(client, action="reverse")
    run_jobs()
    reads = sim.requests(SINGLE_POSITION)
    assert len(reads) == 1 and reads[0]["query"] == "marginCoin=USDT&productType=USDT-FUTURES&symbol=BTCUSDT"
    (body,) = sim.bodies(BACKHAND)
    assert body["size"] == "0.037" and body["side"] == "buy"
    assert sim.positions() == {"long": "0.037"}


def test_hedge_reverse_names_the_position_with_side_and_trade_side(client, hedge, run_jobs):
    hedge.open("long", "20")
    job_id = send(client, action="reverse")
    run_jobs()
    assert job(client, job_id)["result"]["pos_mode"] == "hedge_mode"
    (body,) = hedge.bodies(BACKHAND)
    assert (body["side"], body["tradeSide"], body["size"]) == ("buy", "Open", "20")
    assert hedge.positions() == {"short": "20"}


def test_hedge_reverse_with_qty_below_the_position_reverses_only_that_part(client, hedge, run_jobs):
    hedge.open("long", "20")
    job_id = send(client, action="reverse", qty="3")
    run_jobs()
    result = job(client, job_id)["result"]
    assert result["size"] == "3" and result["whole_position"] is False
    assert hedge.positions() == {"long": "17", "short": "3"}


def test_hedge_reverse_with_both_sides_open_acts_on_the_side_the_alert_names(client, hedge, run_jobs):
    hedge.open("long", "5")
    hedge.open("short", "2")
    send(client, action="reverse", side="short")
    run_jobs()
    (body,) = hedge.bodies(BACKHAND)
    assert (body["side"], body["size"]) == ("sell", "2")
    assert hedge.positions() == {"long": "7"}


def test_hedge_with_both_sides_open_and_no_side_fails_naming_both_and_sends_nothing(client, hedge, run_jobs):
    hedge.open("long", "5")
    hedge.open("short", "2")
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed" and view["error"]["type"] == "AmbiguousPosition"
    assert "long 5" in view["error"]["message"] and "short 2" in view["error"]["message"]
    assert "side" in view["error"]["message"]
    assert hedge.requests(BACKHAND) == [] and hedge.orders() == []


def test_no_position_fails_as_position_not_found_and_sends_nothing(client, sim, run_jobs):
    job_id = send(client, action="reverse")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed" and view["error"]["type"] == "PositionNotFound"
    assert "no open BTCUSDT position" in view["error"]["message"]
    assert [r["method"] for r in sim.requests()] == ["GET"]


def test_a_side_with_no_position_on_it_fails_as_position_not_found(client, sim, run_jobs):
    sim.open("long", "1")
    job_id = send(client, action="reverse", side="short")
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "PositionNotFound" and "no open short BTCUSDT position (open: long 1)" in error["message"]


def test_one_way_reverse_with_a_qty_below_the_position_fails_rather_than_reversing_it_all(client, sim, run_jobs):
    sim.open("long", "10")
    job_id = send(client, action="reverse", qty="3")
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "JobFailed" and "one-way mode" in error["message"]
    assert sim.requests(BACKHAND) == [] and sim.positions() == {"long": "10"}
