"""GET /alerts, GET /jobs, GET /status, GET /jobs/<id>'s replay offer: filters, pagination, strict queries."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from config.funding import DEFAULT_SCHEDULES
from executor.app import create_app
from executor.ratelimit import credential_tag
from tests.coinw import open_position
from tests.conftest import ADMIN_TOKEN, NO_FUNDING, WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def alert(**fields):
    return {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}


def get(client, path, **query):
    answer = client.get(path, query_string=query, headers=AUTH)
    assert answer.status_code == 200, answer.json
    return answer.json


def queue(client, **fields):
    answer = client.post("/webhook", json=alert(**fields))
    assert answer.status_code == 202, answer.json
    return answer.json["job_id"]


@pytest.mark.parametrize("path", ["/alerts", "/jobs", "/status"])
def test_the_lists_need_the_admin_token_and_are_404_without_one_configured(client, settings, redis, clock, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    off = create_app(dataclasses.replace(settings, admin_token=None), clock=clock).test_client()
    assert off.get(path, headers=AUTH).status_code == 404


def test_alerts_pages_newest_first_across_accepted_and_refused_with_a_cursor(client):
    sent = []
    for number in range(7):
        if number % 2:
            client.post("/webhook", json=alert(action=f"bad-{number}"))
            sent.append(f"bad-{number}")
        else:
            queue(client, id=f"ok-{number}")
            sent.append(f"ok-{number}")
    seen, cursor = [], None
    while True:
        page = get(client, "/alerts", limit=3, **({"cursor": cursor} if cursor else {}))
        assert len(page["alerts"]) <= 3
        seen += [entry["alert"].get("id") or entry["alert"]["action"] for entry in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(sent))


def test_alerts_filter_on_outcome_since_and_an_alert_or_job_id(client, clock):
    job_id = queue(client, id="find-me")
    client.post("/webhook", json=alert(id="find-me"))  # a duplicate
    client.post("/webhook", json=alert(action="nope"))
    assert [entry["outcome"] for entry in get(client, "/alerts", outcome="refused")["alerts"]] == ["refused"]
    assert [entry["outcome"] for entry in get(client, "/alerts", outcome="accepted,duplicate")["alerts"]] == [
        "duplicate", "accepted"]
    assert len(get(client, "/alerts", search="find-me")["alerts"]) == 2
    assert len(get(client, "/alerts", search=job_id)["alerts"]) == 2
    assert len(get(client, "/alerts", since="1h")["alerts"]) == 3
    future = (clock.now + timedelta(hours=1)).isoformat()
    assert get(client, "/alerts", since=future)["alerts"] == []


@pytest.mark.parametrize("path, query, words", [
    ("/alerts", {"outcome": "lost"}, "outcome"),
    ("/alerts", {"limit": "0"}, "limit"),
    ("/alerts", {"limit": "many"}, "limit"),
    ("/alerts", {"cursor": "1-2-z"}, "cursor"),
    ("/alerts", {"since": "yesterday"}, "since"),
    ("/alerts", {"since": "999999999d"}, "since"),
    ("/alerts", {"stauts": "failed"}, "stauts"),
    ("/jobs", {"status": "done"}, "status"),
    ("/jobs", {"venue": "kraken"}, "venue"),
    ("/jobs", {"cursor": "!!"}, "cursor"),
    ("/jobs", {"symbol": "B" * 300}, "symbol"),
    ("/status", {"x": "1"}, "x"),
])
def test_a_bad_query_is_400_naming_what_is_wrong(client, path, query, words):
    answer = client.get(path, query_string=query, headers=AUTH)
    assert answer.status_code == 400 and words in answer.json["error"]


def test_jobs_filter_on_status_venue_symbol_since_and_id_newest_first(client, run_jobs, simulator):
    open_position(simulator)
    first = queue(client, id="a-1")
    second = queue(client, symbol="ETHUSDT.P", id="a-2")
    run_jobs()  # BTC has a simulated position and finishes; ETH has none and fails
    third = queue(client, id="a-3")
    assert [job["job_id"] for job in get(client, "/jobs")["jobs"]] == [third, second, first]
    assert [job["job_id"] for job in get(client, "/jobs", status="failed")["jobs"]] == [second]
    assert [job["job_id"] for job in get(client, "/jobs", status="queued,finished")["jobs"]] == [third, first]
    assert [job["job_id"] for job in get(client, "/jobs", symbol="eth")["jobs"]] == [second]
    assert [job["job_id"] for job in get(client, "/jobs", symbol="ETHUSDT.P")["jobs"]] == [second]
    assert get(client, "/jobs", venue="bitget")["jobs"] == []
    assert [job["job_id"] for job in get(client, "/jobs", search="a-1")["jobs"]] == [first]
    assert [job["job_id"] for job in get(client, "/jobs", search=third)["jobs"]] == [third]
    page = get(client, "/jobs", limit=2)
    rest = get(client, "/jobs", limit=2, cursor=page["next_cursor"])
    assert [job["job_id"] for job in page["jobs"] + rest["jobs"]] == [third, second, first]
    assert rest["next_cursor"] is None


def test_a_job_summary_says_what_the_page_shows_with_stage_timings(client, run_jobs, simulator):
    open_position(simulator)
    job_id = queue(client, id="sum-1")
    run_jobs()
    (job,) = get(client, "/jobs")["jobs"]
    assert (job["job_id"], job["status"], job["venue"], job["account"], job["symbol"], job["action"]) == (
        job_id, "finished", "coinw", "default", "BTC", "reverse")
    assert job["alert_id"] == "sum-1" and job["attempts"] == 1 and job["outcome"] == "sent" and job["order_id"]
    timings = job["timings"]
    assert timings["queued_ms"] is not None and timings["started_ms"] is not None
    assert set(timings) == {"received_at", "queued_ms", "started_ms", "first_request_ms", "answer_ms"}


def test_a_job_view_offers_replay_when_failed_and_force_replay_when_finished_saying_what_came_before(
        client, run_jobs, simulator):
    open_position(simulator)
    failed = queue(client, symbol="ETHUSDT.P", id="v-1")
    finished = queue(client, id="v-2")
    waiting = queue(client, id="v-3")
    run_jobs()
    offer = get(client, f"/jobs/{failed}")["replay"]
    assert offer["action"] == "Replay" and offer["force"] is False and offer["before"].startswith("it failed: ")
    offer = get(client, f"/jobs/{finished}")["replay"]
    assert offer["action"] == "Force replay" and offer["force"] is True
    assert offer["before"].startswith("it succeeded: reverse on coinw, order ")
    assert get(client, f"/jobs/{waiting}")["replay"]["action"] in (None, "Force replay")
    assert set(get(client, f"/jobs/{finished}")["stages"]) >= {"queued_ms", "started_ms"}


def test_status_shows_workers_queue_deferrals_funding_and_rate_limit_use_by_digest(settings, redis, clock,
                                                                                  run_jobs, simulator):
    open_position(simulator)
    funding = {**NO_FUNDING, "coinw": DEFAULT_SCHEDULES["coinw"]}
    client = create_app(dataclasses.replace(settings, funding=funding), clock=clock).test_client()
    queue(client, id="s-1")
    run_jobs()
    queue(client, id="s-2")
    queue(client, id="s-3")  # waits in its lane behind the one before
    status = get(client, "/status")
    assert status["workers"] == 0 and status["queue"]["queued"] == 1 and status["queue"]["waiting"] >= 1
    assert status["deferred"] == {"order": 1}
    (window,) = status["funding"]
    assert window["venue"] == "coinw" and window["end"] > clock.now.isoformat()
    (key,) = status["rate_limits"]
    assert key["venue"] == "coinw" and key["key"] == credential_tag(settings.coinw.api_key)
    assert settings.coinw.api_key not in str(status)
    windows = {window["name"]: window for window in key["windows"]}
    assert windows["positions"]["used"] >= 1 and windows["positions"]["limit"] == 10
    assert windows["pool"]["limit"] == 30
