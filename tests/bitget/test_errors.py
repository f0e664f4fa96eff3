"""Each class of Bitget error, end to end: what the job's record says and that nothing was done."""
from __future__ import annotations

import time

import pytest

from tests.bitget.helpers import BACKHAND, CLOSE_POSITIONS, PLACE_ORDER, SINGLE_POSITION, job, send


def run_reverse(client, run_jobs):
    job_id = send(client, action="reverse")
    run_jobs()
    return job(client, job_id)


def test_a_clock_off_by_two_minutes_is_rejected_with_40008(client, sim, run_jobs):
    sim.open("long", "1")
    sim.server.state.now = lambda: time.time() + 120
    view = run_reverse(client, run_jobs)
    assert view["status"] == "failed"
    assert (view["error"]["type"], view["error"]["code"]) == ("VenueRejected", "40008")


def test_a_wrong_secret_key_is_rejected_with_40009_and_the_secret_never_shows(client, sim, run_jobs):
    sim.open("long", "1")
    sim.set_mode("one_way_mode", secret="rotated-on-the-venue")
    view = run_reverse(client, run_jobs)
    assert (view["error"]["type"], view["error"]["code"]) == ("VenueRejected", "40009")
    assert "demo-bitget-secret" not in str(view)


def test_a_wrong_passphrase_is_rejected_as_a_key_error(client, sim, run_jobs):
    sim.open("long", "1")
    sim.set_mode("one_way_mode", passphrase="another-passphrase")
    view = run_reverse(client, run_jobs)
    assert (view["error"]["type"], view["error"]["code"]) == ("VenueRejected", "40012")
    assert "demo-bitget-passphrase" not in str(view)


def test_maintenance_45043_defers_the_job_and_nothing_is_done(client, sim, run_jobs):
    sim.open("long", "1")
    sim.fault(kind="funding", path=BACKHAND)
    view = run_reverse(client, run_jobs)
    assert view["status"] == "deferred", view
    assert view["deferred"]["reason"] == "maintenance" and view["attempts"][0]["error"]["code"] == "45043"
    assert sim.positions() == {"long": "1"} and sim.orders() == []


def test_server_upgrade_40200_in_a_normal_answer_defers_as_maintenance(client, sim, run_jobs):
    sim.fault(kind="reject", path=SINGLE_POSITION, code="40200", message="server upgrade")
    view = run_reverse(client, run_jobs)
    assert view["status"] == "deferred" and view["deferred"]["reason"] == "maintenance"


def test_http_429_defers_the_job_as_rate_limited(client, sim, run_jobs):
    sim.open("long", "1")
    sim.fault(kind="rate_limit", path=BACKHAND)
    view = run_reverse(client, run_jobs)
    assert view["status"] == "deferred" and view["deferred"]["reason"] == "rate_limit"
    assert sim.orders() == []


@pytest.mark.parametrize("code", ["22002", "40757", "43043"])
def test_the_venues_no_position_codes_fail_as_position_not_found(client, sim, run_jobs, code):
    sim.open("long", "1")
    sim.fault(kind="reject", path=CLOSE_POSITIONS, code=code, message="No position to close")
    job_id = send(client, action="close")
    run_jobs()
    error = job(client, job_id)["error"]
    assert error["type"] == "PositionNotFound" and code in error["message"]


def test_an_unknown_code_fails_with_the_venues_code_and_words(client, sim, run_jobs):
    sim.open("long", "1")
    sim.fault(kind="reject", path=BACKHAND, code="49999", message="something new")
    error = run_reverse(client, run_jobs)["error"]
    assert (error["type"], error["code"], error["venue_message"]) == ("VenueRejected", "49999", "something new")


@pytest.mark.parametrize("action", ["reverse", "close"])
def test_a_unified_trading_account_fails_with_40085_saying_what_it_means_and_what_to_do(
        client, sim, run_jobs, action):
    sim.open("long", "1")
    sim.set_mode("one_way_mode", account_mode="unified")
    job_id = send(client, action=action)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "failed", view
    error = view["error"]
    assert (error["type"], error["code"]) == ("UnifiedAccountMode", "40085")
    assert "unified trading mode" in error["message"] and "classic account mode" in error["message"]
    assert "replay" in error["message"] and len(view["attempts"]) == 1
    assert [entry["path"] for entry in sim.requests()] == [SINGLE_POSITION]
    assert sim.requests(BACKHAND) == sim.requests(PLACE_ORDER) == sim.requests(CLOSE_POSITIONS) == []
    assert sim.positions() == {"long": "1"}
