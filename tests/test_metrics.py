"""GET /metrics: every process's counts, kept in Redis, and the queue's gauges, in the Prometheus text format."""
from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from config.observability import Observability
from config.secrets import Secret
from executor.app import create_app
from executor.metrics.catalogue import ALERTS, CATALOGUE, JOBS
from executor.metrics.store import MetricsBuffer, StoredCounts
from executor.redis_client import connect
from tests.coinw import AUTH, add_fault, open_position, send, view
from tests.conftest import WEBHOOK_SECRET

METRICS_TOKEN = "test-metrics-token-77c1"


def app_of(settings, clock):
    """An app of the test's own settings, without the threads a serving process starts."""
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    return app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) -> value. Fails on text Prometheus cannot read."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, headers=AUTH) -> dict:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.data
    assert answer.content_type.startswith("text/plain")
    return samples(answer.get_data(as_text=True))


def test_metrics_need_the_admin_token_or_the_metrics_token(settings, redis, clock, client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200
    tuned = dataclasses.replace(settings, observability=Observability(metrics_token=Secret(METRICS_TOKEN)))
    both = app_of(tuned, clock).test_client()
    assert both.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert both.get("/metrics", headers=AUTH).status_code == 200
    assert both.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    only_metrics = app_of(dataclasses.replace(tuned, admin_token=None), clock).test_client()
    assert only_metrics.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


def test_metrics_are_404_where_no_token_is_configured(settings, redis, clock):
    client = app_of(dataclasses.replace(settings, admin_token=None), clock).test_client()
    assert client.get("/metrics", headers=AUTH).status_code == 404


def test_every_alert_outcome_is_counted(client, clock):
    send(client)
    assert client.post("/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse",
                                         "symbol": "BTC", "qty": 0}).status_code == 400
    assert client.post("/webhook", json={"secret": "wrong", "venue": "coinw"}).status_code == 401
    old = (clock.now - timedelta(seconds=301)).isoformat()
    assert client.post("/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "close",
                                         "symbol": "BTC", "sent_at": old}).status_code == 400
    assert client.post("/webhook", data=b"x" * 70_000).status_code == 413
    found = scrape(client)
    counted = {outcome: value(found, "executor_alerts_total", outcome=outcome)
               for outcome in ("accepted", "invalid", "unauthorized", "stale", "too_large", "duplicate")}
    assert counted == {"accepted": 1, "invalid": 1, "unauthorized": 1, "stale": 1, "too_large": 1, "duplicate": 0}


def test_a_run_of_jobs_is_counted_by_outcome_stage_venue_request_and_deferral(client, simulator, run_jobs, redis):
    open_position(simulator, "long", "10")
    finished = send(client)
    failed = send(client, action="close", symbol="ETH")
    run_jobs()
    add_fault(simulator, path="/v1/perpum/positions", method="GET", kind="http_error", status=503)
    deferred = send(client, symbol="LTC")
    run_jobs()
    assert [view(client, job)["status"] for job in (finished, failed, deferred)] == ["finished", "failed",
                                                                                    "deferred"]
    found = scrape(client)
    assert value(found, "executor_jobs_total", venue="coinw", action="reverse", outcome="finished") == 1
    assert value(found, "executor_jobs_total", venue="coinw", action="close", outcome="failed") == 1
    assert value(found, "executor_deferrals_total", reason="venue_error") == 1
    assert value(found, "executor_venue_requests_total", venue="coinw", endpoint="positions", result="ok") == 2
    assert value(found, "executor_venue_requests_total", venue="coinw", endpoint="positions",
                 result="server_error") == 1
    assert value(found, "executor_venue_requests_total", venue="coinw", endpoint="reverse", result="ok") == 1
    assert value(found, "executor_stage_seconds_count", stage="intake") == 3
    for stage in ("queue_wait", "start_to_first_request", "venue_answer"):
        assert value(found, "executor_stage_seconds_count", stage=stage) == 3, stage
    assert value(found, "executor_rate_limit_wait_seconds_count") == 4
    assert value(found, "executor_deferred_jobs", kind="scheduled") == 1
    assert value(found, "executor_failed_jobs") == 1 and value(found, "executor_queue_depth") == 0


def test_an_attempts_timings_are_recorded_and_shown_for_the_latest_attempt(client, simulator, run_jobs):
    open_position(simulator)
    job_id = send(client)
    run_jobs()
    record = view(client, job_id)
    timings = record["timings"]
    assert timings == record["attempts"][-1]["timings"]
    assert timings["started_at"] <= timings["first_request_at"] <= timings["answered_at"]


def test_timings_are_null_where_nothing_was_sent_or_no_attempt_ran(client, simulator, run_jobs):
    queued = send(client, action="close", symbol="ETH")
    assert view(client, queued)["timings"] == {"started_at": None, "first_request_at": None, "answered_at": None}
    run_jobs()
    timings = view(client, queued)["timings"]  # failed on the read: the read was sent and answered
    assert timings["first_request_at"] is not None and timings["answered_at"] is not None


def test_a_flush_redis_refuses_keeps_its_counts_for_the_next(redis, redis_url):
    down = connect(f"redis://127.0.0.1:{_closed_port()}/0")
    buffer = MetricsBuffer(down, "alerts")
    buffer.count(JOBS, "coinw", "reverse", "finished")
    assert buffer.flush() is False
    buffer.redis = redis
    assert buffer.flush() is True
    assert StoredCounts(redis, "alerts").counter(JOBS) == {("coinw", "reverse", "finished"): 1.0}


def test_a_forked_child_does_not_write_its_parents_counts_again(redis):
    buffer = MetricsBuffer(redis, "alerts")
    buffer.count(ALERTS, "accepted")
    pid = os.fork()
    if pid == 0:  # the child: a work horse writing its counts as its job ends
        buffer.count(ALERTS, "invalid")
        buffer.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    buffer.flush()
    assert StoredCounts(redis, "alerts").counter(ALERTS) == {("accepted",): 1.0, ("invalid",): 1.0}


def test_every_metric_is_in_the_catalogue_with_help_and_its_known_labels(client):
    names = {family.name for family in text_string_to_metric_families(
        client.get("/metrics", headers=AUTH).get_data(as_text=True))}
    assert {metric.name.removesuffix("_total") for metric in CATALOGUE} <= names
    assert {"executor_queue_depth", "executor_deferred_jobs", "executor_live_workers"} <= names


def _closed_port() -> int:
    from executor.localredis import free_port

    return free_port()
