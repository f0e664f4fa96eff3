"""CoinW's edge cases over HTTP against the simulator: a rate limit written in the body as code 429."""
from __future__ import annotations

from tests.coinw import REVERSE, add_fault, open_position, orders, positions, send, view


def test_an_envelope_with_code_429_is_a_rate_limit_the_job_backs_off_and_nothing_is_done(
        client, simulator, run_jobs):
    open_position(simulator, "long", "10")
    add_fault(simulator, kind="rate_limit", code=429, status=200, message="too many requests", path=REVERSE)
    job_id = send(client)
    run_jobs()
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "rate_limit", record
    error = record["attempts"][0]["error"]
    assert (error["type"], error["code"], error["http_status"]) == ("RateLimited", 429, 200)
    assert orders(simulator) == [] and positions(simulator)[0]["direction"] == "long"
