"""Alert -> Redis -> worker -> CoinW simulator over HTTP, and the job's record afterwards."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY
from tests.coinw import open_position, orders, positions, send, view

pytestmark = pytest.mark.e2e













def test_reverse_flips_the_position_and_records_the_venue_order_id(client, simulator, run_jobs):
    before = open_position(simulator, "long", "10")
    job_id = send(client, action="reverse", symbol="BTCUSDT.P")
    run_jobs()
    record = view(client, job_id)
    assert record["status"] == "finished", record
    (after,) = positions(simulator)
    assert after["direction"] == "short" and float(after["currentPiece"]) == 10
    assert str(after["id"]) != str(before["id"])
    (order,) = orders(simulator)
    assert record["result"]["order_id"] == str(order["id"]) and record["result"]["order_id"]
    assert record["attempts"][0]["notes"]["position_before"]["position_id"] == str(before["id"])
    assert record["attempts"][0]["outcome"] == "sent"


def test_close_by_qty_leaves_the_rest_open(client, simulator, run_jobs):
    open_position(simulator, "short", "10")
    job_id = send(client, action="close", qty="4")
    run_jobs()
    assert view(client, job_id)["status"] == "finished"
    (after,) = positions(simulator)
    assert float(after["currentPiece"]) == 6 and after["direction"] == "short"


def test_close_without_size_closes_everything(client, simulator, run_jobs):
    open_position(simulator, "long", "3")
    job_id = send(client, action="close")
    run_jobs()
    assert view(client, job_id)["result"]["close_rate"] == "1"
    assert positions(simulator) == []


def test_close_by_ratio_closes_that_fraction(client, simulator, run_jobs):
    open_position(simulator, "long", "10")
    send(client, action="close", ratio="0.25")
    run_jobs()
    (after,) = positions(simulator)
    assert float(after["currentPiece"]) == 7.5


def test_close_at_a_price_is_a_plan_close_and_leaves_the_position(client, simulator, run_jobs):
    open_position(simulator, "long", "10")
    job_id = send(client, action="close", qty="2", price="70000")
    run_jobs()
    assert view(client, job_id)["status"] == "finished"
    (after,) = positions(simulator)
    assert float(after["currentPiece"]) == 10
    (order,) = orders(simulator)
    assert "plan" in str(order).lower() and "70000" in str(order)


def test_position_id_picks_one_of_several(client, simulator, run_jobs):
    open_position(simulator, "long", "1")
    target = open_position(simulator, "short", "2")
    send(client, action="reverse", position_id=str(target["id"]))
    run_jobs()
    sides = sorted((p["direction"], float(p["currentPiece"])) for p in positions(simulator))
    assert sides == [("long", 1.0), ("long", 2.0)]


def test_several_positions_without_position_id_fail_naming_what_was_found(client, simulator, run_jobs):
    first = open_position(simulator, "long", "1")
    second = open_position(simulator, "short", "2")
    job_id = send(client, action="reverse")
    run_jobs()
    record = view(client, job_id)
    assert record["status"] == "failed"
    message = record["error"]["message"]
    assert "2 open BTC positions" in message and str(first["id"]) in message and str(second["id"]) in message
    assert orders(simulator) == []


def test_no_position_fails_clearly_and_sends_nothing(client, simulator, run_jobs):
    job_id = send(client, action="close")
    run_jobs()
    record = view(client, job_id)
    assert record["status"] == "failed" and record["error"]["type"] == "PositionNotFound"
    assert "no open BTC position" in record["error"]["message"]


def test_venue_rejection_fails_the_job_with_the_venues_code_and_message(client, simulator, run_jobs):
    open_position(simulator, "long", "1")
    requests.post(f"{simulator.base_url}/_sim/faults", timeout=5, json={
        "venue": "coinw", "path": "/v1/perpum/positions/reverse", "kind": "reject",
        "code": 9111, "message": "symbol not tradeable"})
    job_id = send(client, action="reverse")
    run_jobs()
    error = view(client, job_id)["error"]
    assert error["code"] == 9111 and error["venue_message"] == "symbol not tradeable"
    assert error["type"] == "VenueRejected"


def test_wrong_secret_key_is_rejected_by_the_venue_with_6001(client, simulator, settings, run_jobs):
    requests.post(f"{simulator.base_url}/_sim/credentials", timeout=5, json={
        "venue": "coinw", "api_key": DEMO_COINW_API_KEY, "secret_key": "rotated-on-the-venue"})
    try:
        open_position(simulator, "long", "1")
        job_id = send(client, action="reverse")
        run_jobs()
        assert view(client, job_id)["error"]["code"] == 6001
    finally:
        requests.post(f"{simulator.base_url}/_sim/credentials", timeout=5, json={
            "venue": "coinw", "api_key": DEMO_COINW_API_KEY, "secret_key": DEMO_COINW_SECRET_KEY})


def test_a_real_worker_process_performs_a_queued_reversal(client, simulator, settings):
    open_position(simulator, "short", "5")
    job_id = send(client, action="reverse")
    env = {**os.environ, "REDIS_URL": settings.redis_url, "COINW_BASE_URL": simulator.base_url,
           "COINW_API_KEY": DEMO_COINW_API_KEY, "COINW_SECRET_KEY": DEMO_COINW_SECRET_KEY}
    done = subprocess.run([sys.executable, "-m", "executor", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert view(client, job_id)["status"] == "finished"
    (after,) = positions(simulator)
    assert after["direction"] == "long"
    assert DEMO_COINW_SECRET_KEY not in done.stderr + done.stdout
