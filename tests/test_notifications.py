"""Notifications: posted to an outbox in Redis, delivered through Apprise's ``json://`` to a sink in a process
of its own, retried then logged, never with a secret, refused alerts summarised once a minute."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from config.observability import Observability, load_observability, secret_texts
from config.secrets import Secret
from config.settings import load_settings
from executor.domain import Alert
from executor.health import Health
from executor.localredis import free_port
from executor.metrics.catalogue import NOTIFICATIONS
from executor.metrics.store import MetricsBuffer, StoredCounts
from executor.notify import messages
from executor.jobview import fetch_job
from executor.notify.outbox import Notice, Outbox, outbox_key, outbox_length
from executor.notify.refusals import SUMMARY_EVERY_SECONDS, Refusals
from executor.notify.sender import NotificationSender
from executor.notify.stranded import StrandedNotice
from executor.redis_client import connect
from tests.notifysink import NotifySink

QUICK = (0.01, 0.01)


@pytest.fixture(scope="module")
def sink_process():
    with NotifySink() as sink:
        yield sink


@pytest.fixture
def sink(sink_process):
    sink_process.clear()
    sink_process.mode("ok")
    return sink_process


def observing(sink: NotifySink, *events: str) -> Observability:
    return Observability(notify_urls=(Secret(sink.apprise_url()),), **({"notify_events": frozenset(events)}
                                                                       if events else {}))


def sender_for(redis, sink: NotifySink, metrics: MetricsBuffer | None = None, **options) -> NotificationSender:
    return NotificationSender(redis, "alerts", (Secret(sink.apprise_url()),), metrics, pauses=QUICK, **options)


def test_a_posted_notice_is_delivered_once_through_apprise_json(redis, sink):
    outbox = Outbox(redis, "alerts", observing(sink))
    assert outbox.post(Notice("job_failed", "Job failed: reverse coinw BTC", "venue: coinw\nsymbol: BTC"))
    assert outbox_length(redis, "alerts") == 1
    sender = sender_for(redis, sink)
    assert sender.turn() is True
    (delivered,) = sink.received()
    assert delivered["title"] == "Job failed: reverse coinw BTC" and delivered["message"] == "venue: coinw\nsymbol: BTC"
    assert delivered["type"] == "failure" and delivered["path"] == "/notify"
    assert outbox_length(redis, "alerts") == 0 and redis.llen(sender.own_list) == 0


def test_a_service_that_keeps_failing_is_tried_three_times_then_logged_with_the_notice(redis, sink, caplog):
    sink.mode("fail")
    Outbox(redis, "alerts", observing(sink)).post(Notice("job_failed", "Job failed: close coinw ETH", "job: a-1"))
    metrics = MetricsBuffer(redis, "alerts")
    with caplog.at_level(logging.INFO, logger="executor.notify.sender"):
        assert sender_for(redis, sink, metrics).turn() is True
    assert len(sink.received()) == 3
    (failure,) = [entry for entry in caplog.records if entry.levelno == logging.ERROR]
    assert failure.getMessage() == ("notification job_failed NOT delivered to NOTIFY_URLS item 1 (json://…) after 3 "
                                    "tries: Job failed: close coinw ETH | job: a-1")
    metrics.flush()
    assert StoredCounts(redis, "alerts").counter(NOTIFICATIONS) == {("job_failed", "failed"): 1.0}


def test_a_notice_left_by_a_sender_that_died_is_sent_by_another(redis, sink):
    dead = sender_for(redis, sink)
    redis.sadd(dead.registry, dead.id)  # registered, its liveness key lapsed, a notice in its hands
    redis.rpush(dead.own_list, Notice("job_failed", "taken by a sender that died", "").to_json())
    alive = sender_for(redis, sink)
    alive.turn()
    assert [entry["title"] for entry in sink.received()] == ["taken by a sender that died"]
    assert not redis.sismember(alive.registry, dead.id) and redis.llen(dead.own_list) == 0


def test_a_notice_that_cannot_be_posted_is_logged_with_its_text(caplog, sink):
    down = connect(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.ERROR):
        assert Outbox(down, "alerts", observing(sink)).post(Notice("job_failed", "Job failed: x", "job: a-2")) is False
    assert "Job failed: x | job: a-2" in caplog.records[-1].getMessage()


def test_nothing_is_posted_without_urls_or_for_an_event_not_chosen(redis, sink):
    assert Outbox(redis, "alerts", Observability()).post(Notice("job_failed", "t", "b")) is False
    assert Outbox(redis, "alerts", observing(sink, "stale")).post(Notice("job_failed", "t", "b")) is False
    assert redis.keys("*") == []


def test_refused_alerts_are_summarised_at_most_once_a_minute_across_web_processes(redis, sink):
    outbox = Outbox(redis, "alerts", observing(sink))
    first, second = Refusals(redis, "alerts", outbox), Refusals(redis, "alerts", outbox)  # two web processes
    for _ in range(3):
        first.record("refused", 401, "missing or wrong secret", "203.0.113.9")
    second.record("refused", 400, "The alert is invalid. symbol: Contains an unrendered placeholder", "198.51.100.7")
    assert first.summarise() == 1
    assert 0 < redis.ttl(first.told_key("refused")) <= SUMMARY_EVERY_SECONDS
    second.record("refused", 401, "missing or wrong secret", "203.0.113.9")
    assert second.summarise() == 0 and first.summarise() == 0  # the minute is not over
    redis.delete(first.told_key("refused"))  # the minute is over
    assert second.summarise() == 1
    (summary, later) = [json.loads(raw) for raw in redis.lrange(outbox.key, 0, -1)]
    assert summary["title"].startswith("4 alerts refused since ")
    assert summary["body"] == ("3 × 401 missing or wrong secret; from 203.0.113.9 (3)\n"
                               "1 × 400 The alert is invalid. symbol: Contains an unrendered placeholder; "
                               "from 198.51.100.7 (1)")
    assert later["title"].startswith("1 alerts refused") and later["kind"] == "warning"


def test_stale_refusals_have_their_own_summary_and_minute(redis, sink):
    outbox = Outbox(redis, "alerts", observing(sink))
    refusals = Refusals(redis, "alerts", outbox)
    refusals.record("refused", 401, "missing or wrong secret", "203.0.113.9")
    assert refusals.summarise() == 1
    refusals.record("stale", 400, "The alert is 400 s old; older than MAX_ALERT_AGE (300 s).", "203.0.113.9")
    assert refusals.summarise() == 1
    titles = [json.loads(raw)["title"] for raw in redis.lrange(outbox.key, 0, -1)]
    assert titles[1].startswith("1 stale alerts refused since")


def test_jobs_without_a_worker_are_told_once_and_again_when_workers_are_back(redis, sink):
    outbox = Outbox(redis, "alerts", observing(sink))
    one, other = StrandedNotice(redis, "alerts", outbox), StrandedNotice(redis, "alerts", outbox)
    one.stranded(Health(workers=0, oldest_waiting_seconds=42.0, waiting=2))
    other.stranded(Health(workers=0, oldest_waiting_seconds=52.0, waiting=2))
    other.recovered(Health(workers=1, oldest_waiting_seconds=0.0, waiting=0))
    one.recovered(Health(workers=1, oldest_waiting_seconds=0.0, waiting=0))
    notices = [json.loads(raw) for raw in redis.lrange(outbox.key, 0, -1)]
    assert [(n["title"], n["kind"]) for n in notices] == [("2 job(s) waiting and no live worker", "failure"),
                                                          ("Workers are back", "success")]
    assert "waited 42 s" in notices[0]["body"]


def test_every_secret_the_settings_hold_is_masked_in_a_notice(redis, sink):
    url = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567"
    settings = load_settings({"WEBHOOK_SECRET": "hook-s3cret-value", "ADMIN_TOKEN": "admin-t0ken-value",
                              "COINW_API_KEY": "coinw-api-key-123", "COINW_SECRET_KEY": "coinw-s3cret-key",
                              "CROSSTRADE_TOKEN": "crosstrade-t0ken", "METRICS_TOKEN": "metrics-t0ken-1",
                              "NOTIFY_URLS": f"{sink.apprise_url()}, {url}"})
    texts = secret_texts(settings, {"HTTPS_PROXY": "http://user:pr0xy-pa55word@proxy.example:3128"})
    outbox = Outbox(redis, "alerts", settings.observability, texts)
    leaked = " ".join(["hook-s3cret-value", "admin-t0ken-value", "coinw-api-key-123", "coinw-s3cret-key",
                       "crosstrade-t0ken", "metrics-t0ken-1", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                       "pr0xy-pa55word"])
    outbox.post(Notice("job_failed", f"title {leaked}", f"body {leaked}"))
    stored = redis.lrange(outbox.key, 0, -1)[0].decode()
    for secret in leaked.split():
        assert secret not in stored
    assert stored.count("***") == 16


def test_a_job_notice_names_venue_account_symbol_action_code_message_and_the_replay():
    alert = Alert(venue="coinw", symbol="BTC", action="reverse", account="main", raw_symbol="BTCUSDT.P")
    notice = messages.job_failed("alert-1", alert, {"type": "VenueRejected", "message": "coinw 9111: not tradeable",
                                                    "code": 9111, "venue_message": "not tradeable",
                                                    "http_status": 200})
    assert notice.title == "Job failed: reverse coinw BTC (main)"
    assert notice.body.splitlines() == [
        "venue: coinw", "account: main", "symbol: BTCUSDT.P (BTC)", "action: reverse",
        "error: VenueRejected: coinw 9111: not tradeable", "venue's code: 9111, message: not tradeable (HTTP 200)",
        "job: alert-1", "replay: executor jobs replay alert-1  (or POST /jobs/alert-1/replay)"]


def test_notify_settings_are_checked_and_name_the_variable_without_a_url(sink):
    with pytest.raises(ValueError, match="NOTIFY_URLS: item 2 \\(tgram://…\\)") as refused:
        load_observability({"NOTIFY_URLS": f"{sink.apprise_url()},tgram://not-a-token-s3cret"})
    assert "s3cret" not in str(refused.value)
    with pytest.raises(ValueError, match="NOTIFY_EVENTS: unknown event job_done"):
        load_observability({"NOTIFY_EVENTS": "job_failed, job_done"})
    chosen = load_observability({"NOTIFY_URLS": sink.apprise_url(), "NOTIFY_EVENTS": "job_failed,stale"})
    assert chosen.notify_events == {"job_failed", "stale"} and chosen.notifies("stale")
    assert not chosen.notifies("refused") and "notify" not in repr(chosen.notify_urls)
    assert dataclasses.replace(chosen, notify_urls=()).notifies("stale") is False


def test_a_process_that_does_not_notify_an_event_leaves_its_refusals_to_one_that_does(redis, sink):
    notifying = Refusals(redis, "alerts", Outbox(redis, "alerts", observing(sink)))
    silent = Refusals(redis, "alerts", Outbox(redis, "alerts", Observability()))
    notifying.record("stale", 400, "The alert is 400 s old; older than MAX_ALERT_AGE (300 s).", "203.0.113.9")
    assert silent.summarise() == 0
    assert notifying.summarise() == 1


def test_a_job_whose_work_horse_keeps_dying_is_failed_and_notified(settings, redis, client, sink):
    from workers.runtime import Runtime, install_runtime
    from workers.worker import HORSE_DIED, run_again_after_horse_death

    from tests.coinw import send

    job_id = send(client)
    job = fetch_job(redis, job_id)
    job.meta["events"] = [{"event": HORSE_DIED, "run": 0, "message": "died"}] * 2
    job.save_meta()
    install_runtime(Runtime(dataclasses.replace(settings, observability=observing(sink)), redis=redis))
    try:
        run_again_after_horse_death(job, 4242, 9, None)
    finally:
        install_runtime(None)
    (notice,) = [json.loads(raw) for raw in redis.lrange(outbox_key("alerts"), 0, -1)]
    assert notice["title"] == "Job failed: reverse coinw BTC"
    assert "its work horse died 3 times in this run" in notice["body"] and f"job: {job_id}" in notice["body"]


def test_a_process_that_does_not_notify_workers_back_leaves_it_to_one_that_does(redis, sink):
    notifying = StrandedNotice(redis, "alerts", Outbox(redis, "alerts", observing(sink)))
    silent = StrandedNotice(redis, "alerts", Outbox(redis, "alerts", Observability()))
    notifying.stranded(Health(workers=0, oldest_waiting_seconds=12.0, waiting=1))
    silent.recovered(Health(workers=1, oldest_waiting_seconds=0.0, waiting=0))
    notifying.recovered(Health(workers=1, oldest_waiting_seconds=0.0, waiting=0))
    titles = [json.loads(raw)["title"] for raw in redis.lrange(outbox_key("alerts"), 0, -1)]
    assert titles == ["1 job(s) waiting and no live worker", "Workers are back"]
