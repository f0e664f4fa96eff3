"""Listing, showing and replaying jobs, by the CLI and the job API, against the real Redis and the simulator."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from rq.serializers import JSONSerializer

from config.settings import RetryPolicy, SettingsError, load_settings
from executor.app import create_app
from executor.jobview import fetch_job
from executor.alertqueue import make_queue
from executor.queueing import put_on_queue
from tests.coinw import REVERSE, add_fault, open_position, positions, send, venue_requests, view
from tests.conftest import ADMIN_TOKEN, BurstWorker
from workers.runtime import Runtime, install_runtime

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def worker(settings, redis, simulator, clock):
    """Runs queued jobs in-process with the test's clock."""

    def run(tuned=None) -> None:
        install_runtime(Runtime(tuned or settings, clock=clock, redis=redis))
        try:
            BurstWorker([make_queue(redis, settings)], connection=redis, serializer=JSONSerializer).work(burst=True)
        finally:
            install_runtime(None)

    return run












def release_scheduled(redis, settings):
    """Do what the workers' housekeeping does when a rescheduled job is due, without waiting for it."""
    queue = make_queue(redis, settings)
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)
        put_on_queue(queue, queue.fetch_job(job_id))




def api_replay(client, job_id, **body):
    return client.post(f"/jobs/{job_id}/replay", headers=AUTH, json=body or None)


def listed(cli, *flags):
    code, out, err = cli("jobs", "list", *flags)
    assert code == 0, err
    return [line.split()[0] for line in out.splitlines()]


def test_list_shows_failed_by_default_and_filters_deferred_all_and_venue(client, simulator, worker, cli):
    failed = send(client, action="close", symbol="SOL")  # no SOL position: fails
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="rate_limit")
    scheduled = send(client)  # rate-limited: rescheduled
    worker()
    waiting = send(client, id="behind")  # waits in the BTC lane behind the scheduled one
    queued = send(client, symbol="ETH")
    assert listed(cli) == listed(cli, "--failed") == [failed]
    assert set(listed(cli, "--deferred")) == {scheduled, waiting}
    assert set(listed(cli, "--all")) == {failed, scheduled, waiting, queued}
    assert set(listed(cli, "--all", "--venue", "CoinW")) == {failed, scheduled, waiting, queued}
    assert listed(cli, "--all", "--venue", "bitget") == []
    line = cli("jobs", "list")[1].strip()
    assert "failed" in line and "coinw" in line and "close" in line and "SOL" in line
    assert "PositionNotFound: " in line and "no open SOL position" in line


def test_since_takes_relative_and_iso_times_and_limits_a_bulk_replay(client, simulator, worker, cli, clock):
    start = clock.now
    clock.now = start - timedelta(hours=3)
    old = send(client, action="close", symbol="SOL")
    worker()
    clock.now = start
    new = send(client, action="close", symbol="ETH")
    worker()
    assert listed(cli, "--since", "1h") == [new]
    assert listed(cli, "--since", "4h") == [old, new]
    assert listed(cli, "--since", (start - timedelta(hours=1)).isoformat()) == [new]
    with pytest.raises(SystemExit) as usage:
        cli("jobs", "list", "--since", "yesterday")
    assert usage.value.code == 2
    code, out, _ = cli("jobs", "replay", "--failed", "--since", "1h")
    assert code == 0 and out.strip() == f"replayed {new}: queued"
    assert view(client, old)["status"] == "failed" and view(client, new)["status"] == "queued"


def test_show_prints_the_job_with_its_events_and_replays(client, cli):
    job_id = send(client, id="shown")
    code, out, _ = cli("jobs", "show", job_id)
    shown = json.loads(out)
    assert code == 0 and shown["job_id"] == job_id and shown["alert"]["id"] == "shown"
    assert shown["status"] == "queued" and shown["events"] == [] and shown["replays"] == []
    code, _, err = cli("jobs", "show", "alert-missing")
    assert code == 1 and "no job alert-missing" in err


def test_a_failed_job_replayed_through_the_api_runs_again_and_records_who_replayed_it(
        client, simulator, worker, cli, clock):
    job_id = send(client, action="close")
    worker()
    assert view(client, job_id)["error"]["type"] == "PositionNotFound"
    open_position(simulator, "long", "3")
    answer = api_replay(client, job_id)
    assert answer.status_code == 202 and answer.json["status"] == "queued" and answer.json["error"] is None
    worker()
    shown = json.loads(cli("jobs", "show", job_id)[1])
    assert shown["status"] == "finished" and positions(simulator) == []
    assert shown["replays"] == [{"at": clock.now.isoformat(), "from": "api:127.0.0.1", "force": False}]
    assert shown["events"][0]["event"] == "replayed" and "api:127.0.0.1" in shown["events"][0]["message"]
    assert [(a["run"], a["outcome"]) for a in shown["attempts"]] == [(0, "failed"), (1, "sent")]


def test_a_finished_job_is_not_replayed_without_force_and_the_refusal_says_what_the_venue_answered(
        client, simulator, worker, cli):
    open_position(simulator)
    job_id = send(client)
    worker()
    order_id = view(client, job_id)["result"]["order_id"]
    code, _, err = cli("jobs", "replay", job_id)
    assert code == 1 and len(err.splitlines()) == 1
    assert f"job {job_id} already succeeded: reverse on coinw, order {order_id} (sent) at " in err
    assert "use --force" in err
    answer = api_replay(client, job_id)
    assert answer.status_code == 409 and "already succeeded" in answer.json["error"]
    assert view(client, job_id)["status"] == "finished" and len(venue_requests(simulator, REVERSE)) == 1


def test_force_redoes_a_finished_job(client, simulator, worker, cli):
    open_position(simulator, "long", "10")
    job_id = send(client)
    worker()
    code, out, _ = cli("jobs", "replay", "--force", job_id)
    assert code == 0 and out.strip() == f"replayed {job_id}: queued"
    worker()
    shown = json.loads(cli("jobs", "show", job_id)[1])
    assert shown["status"] == "finished" and len(venue_requests(simulator, REVERSE)) == 2
    (position,) = positions(simulator)
    assert position["direction"] == "long"
    (replayed,) = shown["replays"]
    assert replayed["force"] is True and replayed["from"].startswith("cli:") and "@" in replayed["from"]


def test_a_forced_api_replay_takes_force_from_the_body(client, simulator, worker):
    open_position(simulator)
    job_id = send(client)
    worker()
    assert client.post(f"/jobs/{job_id}/replay", headers=AUTH, json={"force": "yes"}).status_code == 400
    answer = api_replay(client, job_id, force=True)
    assert answer.status_code == 202 and answer.json["replays"][0]["force"] is True


def test_replaying_a_failed_job_whose_outcome_was_unknown_reconciles_and_does_not_act_twice(
        client, simulator, worker, redis, settings, cli):
    """The answer to the reversal is lost; the read that would settle it is ambiguous, so the job gives up
    with the outcome still unknown. Once the ambiguity is gone, the replay reads before it sends."""
    before = open_position(simulator, "long", "10")
    add_fault(simulator, path=REVERSE, kind="drop", when="after")  # reversed, but the answer is lost
    job_id = send(client)
    worker()
    assert view(client, job_id)["deferred"]["reason"] == "outcome_unknown"
    decoy = open_position(simulator, "short", "10")  # now the venue's state cannot tell: the job gives up
    release_scheduled(redis, settings)
    worker(dataclasses.replace(settings, retry=RetryPolicy(max_attempts=1)))
    assert view(client, job_id)["status"] == "failed"
    assert fetch_job(redis, job_id).meta["in_flight"]["position_before"]["position_id"] == str(before["id"])
    close_decoy = send(client, action="close", position_id=str(decoy["id"]))
    worker()
    assert view(client, close_decoy)["status"] == "finished"
    assert cli("jobs", "replay", job_id)[0] == 0
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished", record
    assert record["attempts"][-1]["outcome"] == "found already done on the venue"
    assert record["result"]["reversed_position_id"] == str(before["id"])
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_replaying_a_queued_or_waiting_job_is_refused_saying_its_status(client, cli):
    queued = send(client, id="first")
    waiting = send(client, id="second")
    code, _, err = cli("jobs", "replay", queued, waiting, "alert-missing")
    assert code == 1
    assert err.splitlines() == [f"job {queued} is queued: it will run anyway; replay only a failed job",
                                f"job {waiting} is deferred: it will run anyway; replay only a failed job",
                                "no job alert-missing (unknown, or expired after JOB_RETENTION_DAYS)"]
    answer = api_replay(client, queued)
    assert answer.status_code == 409 and "is queued" in answer.json["error"]


def test_the_replay_route_needs_the_token_and_a_known_job(client):
    job_id = send(client)
    assert client.post(f"/jobs/{job_id}/replay").status_code == 401
    assert client.post(f"/jobs/{job_id}/replay", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.post("/jobs/alert-missing/replay", headers=AUTH)
    assert answer.status_code == 404 and "alert-missing" in answer.json["error"]


def test_a_bulk_replay_keeps_arrival_order_within_a_lane(client, simulator, worker, cli):
    first = send(client, id="a")  # no position: fails
    second = send(client, action="close", qty="4", id="b")  # waiting behind it: fails unrun
    worker()
    assert view(client, second)["error"]["type"] == "NotRun"
    open_position(simulator, "long", "10")
    code, out, _ = cli("jobs", "replay", "--failed")
    assert code == 0 and out.splitlines() == [f"replayed {first}: queued", f"replayed {second}: deferred"]
    worker()
    (position,) = positions(simulator)
    assert (position["direction"], float(position["currentPiece"])) == ("short", 6.0)


def test_a_replay_already_claimed_by_someone_else_is_refused(client, worker, redis, settings):
    job_id = send(client, action="close")
    worker()
    redis.zrem(make_queue(redis, settings).failed_job_registry.key, job_id)  # the other replay got there first
    answer = api_replay(client, job_id)
    assert answer.status_code == 409 and "someone else" in answer.json["error"]


def test_a_replayed_job_no_longer_expires(client, worker, redis):
    job_id = send(client, action="close")
    worker()
    assert 6 * 24 * 3600 < redis.ttl(f"rq:job:{job_id}") <= 7 * 24 * 3600  # JOB_RETENTION_DAYS, 7 by default
    api_replay(client, job_id)
    assert redis.ttl(f"rq:job:{job_id}") == -1


def test_replay_needs_ids_or_failed_but_not_both(cli):
    assert cli("jobs", "replay")[0] == 2
    assert cli("jobs", "replay", "--failed", "alert-x")[0] == 2
    assert cli("jobs", "replay", "--since", "1h", "alert-x")[0] == 2


def test_retention_comes_from_job_retention_days(settings, redis, clock):
    assert load_settings({}).job_retention_days == 7
    assert load_settings({"JOB_RETENTION_DAYS": "30"}).job_retention_days == 30
    for bad in ("0", "-1", "a week", "1.5"):
        with pytest.raises(SettingsError, match="JOB_RETENTION_DAYS"):
            load_settings({"JOB_RETENTION_DAYS": bad})
    client = create_app(dataclasses.replace(settings, job_retention_days=30), clock=clock).test_client()
    job_id = send(client, action="close")
    job = fetch_job(redis, job_id)
    assert job.result_ttl == job.failure_ttl == 30 * 24 * 3600
