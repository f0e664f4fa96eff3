"""Alert -> queue -> worker -> Bitget simulator: full (flash) and partial (reduce-only) closes."""
from __future__ import annotations

import pytest

from tests.bitget.helpers import CLOSE_POSITIONS, PLACE_ORDER, job, send


def test_close_without_size_flash_closes_the_position_by_its_hold_side(client, sim, run_jobs):
    sim.open("short", "4")
    job_id = send(client, action="close")
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert sim.bodies(CLOSE_POSITIONS) == [{"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "holdSide": "short"}]
    assert sim.positions() == {}
    (order,) = sim.orders()
    assert view["result"]["order_id"] == order["id"] and view["result"]["close"] == "flash"


def test_hedge_flash_close_with_a_side_closes_only_that_side(client, hedge, run_jobs):
    hedge.open("long", "4")
    hedge.open("short", "1")
    send(client, action="close", side="long")
    run_jobs()
    assert hedge.positions() == {"short": "1"}


@pytest.mark.parametrize("fields, closed, left", [
    ({"qty": "4"}, "4", "6"),
    ({"ratio": "0.25"}, "2.5", "7.5"),  # BTCUSDT's size step is 0.0001
])
def test_one_way_partial_close_is_a_reduce_only_market_order_on_the_opposite_side(
        client, sim, run_jobs, fields, closed, left):
    sim.open("long", "10")
    job_id = send(client, action="close", **fields)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    (body,) = sim.bodies(PLACE_ORDER)
    assert body == {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT",
                    "marginMode": "crossed", "size": closed, "side": "sell", "reduceOnly": "YES",
                    "orderType": "market", "clientOid": view["result"]["client_oid"]}
    assert sim.positions() == {"long": left}
    assert sim.requests(CLOSE_POSITIONS) == []


@pytest.mark.parametrize("size, fields, closed, left", [("0.010", {"qty": "0.004"}, "0.004", "0.006"),
                                                        ("10", {"ratio": "0.55"}, "5.5", "4.5")])
def test_hedge_partial_close_uses_trade_side_close_with_the_side_of_the_position(
        client, hedge, run_jobs, size, fields, closed, left):
    hedge.open("long", size)
    send(client, action="close", side="long", **fields)
    run_jobs()
    (body,) = hedge.bodies(PLACE_ORDER)
    assert (body["side"], body["tradeSide"], body["size"], body["marginMode"]) == ("buy", "Close", closed, "crossed")
    assert "reduceOnly" not in body
    assert hedge.positions() == {"long": left}


@pytest.mark.parametrize("size, fields", [("0.0003", {"ratio": "0.2"}), ("0.01", {"qty": "0.00005"})])
def test_a_size_under_the_contracts_minimum_fails_clearly_and_sends_nothing(client, sim, run_jobs, size, fields):
    sim.open("long", size)
    job_id = send(client, action="close", **fields)
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "JobFailed", error
    assert "under the contract's minimum size 0.0001 (minTradeNum)" in error["message"]
    assert "nothing was sent" in error["message"]
    assert sim.requests(PLACE_ORDER) == [] and sim.positions() == {"long": size}


def test_a_qty_above_the_position_fails_before_sending(client, sim, run_jobs):
    sim.open("short", "2")
    job_id = send(client, action="close", qty="3")
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "JobFailed" and "exceeds" in error["message"] and "2" in error["message"]
    assert sim.requests(PLACE_ORDER) == [] and sim.orders() == []


def test_close_with_no_position_fails_as_position_not_found(client, sim, run_jobs):
    job_id = send(client, action="close", qty="1")
    run_jobs()
    assert job(client, job_id)["error"]["type"] == "PositionNotFound"
    assert sim.orders() == []
