"""A lost answer is settled by reading the account's position, never by sending blindly again."""
from __future__ import annotations

import pytest

from tests.crosstrade.sim import (add_fault, job, open_position, orders, positions, release_scheduled, send,
                                  sent)

REVERSE = "/v1/api/accounts/Sim101/positions/reverseposition"
CLOSE = "/v1/api/accounts/Sim101/positions/close"


def run_twice(run_jobs, redis, settings) -> None:
    """The first attempt loses its answer; the second, released at once, reconciles."""
    run_jobs()
    release_scheduled(redis, settings)
    run_jobs()


@pytest.mark.parametrize("fault", [{"kind": "http_error", "status": 502, "when": "after"},
                                   {"kind": "drop", "when": "after"}])
def test_a_reverse_that_acted_is_found_done_and_not_sent_again(client, simulator, run_jobs, redis, settings,
                                                                 fault):
    open_position(simulator, "long", 2)
    add_fault(simulator, path=REVERSE, **fault)
    job_id = send(client, action="reverse")
    run_jobs()
    first = job(client, job_id)
    assert first["status"] == "deferred" and first["deferred"]["reason"] == "outcome_unknown", first
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished" and view["attempts"][-1]["outcome"] == "found already done on the venue"
    assert len([r for r in sent(simulator, "POST") if r["path"] == REVERSE]) == 1
    assert positions(simulator)[0]["marketPosition"] == "Short"


def test_a_reverse_that_never_arrived_is_sent_again_once_the_position_shows_it_undone(
        client, simulator, run_jobs, redis, settings):
    open_position(simulator, "long", 2)
    add_fault(simulator, path=REVERSE, kind="drop", when="before")
    job_id = send(client, action="reverse")
    run_twice(run_jobs, redis, settings)
    view = job(client, job_id)
    assert view["status"] == "finished" and view["attempts"][-1]["outcome"] == "sent"
    assert view["attempts"][-1]["notes"]["reconciliation"] == "not done on the venue: sending again"
    assert len(orders(simulator)) == 1


def test_a_close_that_acted_is_found_done_by_the_smaller_position(client, simulator, run_jobs, redis, settings):
    open_position(simulator, "short", 5)
    add_fault(simulator, path=CLOSE, kind="http_error", when="after")
    job_id = send(client, action="close", ratio="0.5")
    run_twice(run_jobs, redis, settings)
    view = job(client, job_id)
    assert view["attempts"][-1]["outcome"] == "found already done on the venue", view
    assert view["result"]["left"] == "short 2"
    assert len([r for r in sent(simulator, "POST") if r["path"] == CLOSE]) == 1


def test_a_position_changed_some_other_way_cannot_be_told_and_is_not_resent(
        client, simulator, run_jobs, redis, settings):
    open_position(simulator, "long", 4)
    add_fault(simulator, path=CLOSE, kind="http_error", when="after")
    send(client, action="close", qty=1)
    run_jobs()
    open_position(simulator, "long", 5)  # someone traded meanwhile: now long 8, neither 4 nor 3
    release_scheduled(redis, settings)
    run_jobs()
    assert len([r for r in sent(simulator, "POST") if r["path"] == CLOSE]) == 1


#: A 408 with CrossTrade's not-connected body, from the relay in front of NinjaTrader.
NOT_CONNECTED_408 = {"kind": "reject", "status": 408, "code": "not_connected",
                     "message": "NinjaTrader is not connected"}
ACTS = {"reverse": ({}, REVERSE, "Short", 2), "close": ({"qty": 1}, CLOSE, "Long", 1)}


@pytest.mark.parametrize("action", ["reverse", "close"])
def test_a_408_answering_a_request_that_acted_is_found_done_from_the_position_and_not_sent_again(
        client, simulator, run_jobs, redis, settings, action):
    fields, path, side_after, size_after = ACTS[action]
    open_position(simulator, "long", 2)
    add_fault(simulator, path=path, when="after", **NOT_CONNECTED_408)
    job_id = send(client, action=action, **fields)
    run_jobs()
    first = job(client, job_id)
    assert first["status"] == "deferred" and first["deferred"]["reason"] == "outcome_unknown", first
    assert first["attempts"][0]["error"]["http_status"] == 408
    release_scheduled(redis, settings)
    run_jobs()
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert view["attempts"][-1]["outcome"] == "found already done on the venue"
    assert len([r for r in sent(simulator, "POST") if r["path"] == path]) == 1 and len(orders(simulator)) == 1
    (position,) = positions(simulator)
    assert (position["marketPosition"], position["quantity"]) == (side_after, size_after)


@pytest.mark.parametrize("action", ["reverse", "close"])
def test_a_408_answering_a_request_that_did_nothing_is_sent_again_once_the_position_shows_it_undone(
        client, simulator, run_jobs, redis, settings, action):
    fields, path, side_after, size_after = ACTS[action]
    open_position(simulator, "long", 2)
    add_fault(simulator, path=path, when="before", **NOT_CONNECTED_408)
    job_id = send(client, action=action, **fields)
    run_twice(run_jobs, redis, settings)
    view = job(client, job_id)
    assert view["status"] == "finished", view
    assert view["attempts"][0]["outcome"] == "deferred" and view["attempts"][0]["error"]["http_status"] == 408
    assert view["attempts"][-1]["notes"]["reconciliation"] == "not done on the venue: sending again"
    assert [r["status"] for r in sent(simulator, "POST") if r["path"] == path] == [408, 200]
    assert len(orders(simulator)) == 1
    (position,) = positions(simulator)
    assert (position["marketPosition"], position["quantity"]) == (side_after, size_after)


def test_a_408_on_the_position_read_is_retried_later_with_nothing_to_reconcile(
        client, simulator, run_jobs, redis, settings):
    open_position(simulator, "long", 2)
    add_fault(simulator, method="GET", **NOT_CONNECTED_408)
    job_id = send(client, action="reverse")
    run_twice(run_jobs, redis, settings)
    view = job(client, job_id)
    assert view["attempts"][0]["deferral"]["reason"] == "not_connected", view
    assert "reconciliation" not in view["attempts"][-1].get("notes", {})
    assert view["status"] == "finished" and view["attempts"][-1]["outcome"] == "sent"
