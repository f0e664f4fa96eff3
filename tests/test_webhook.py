"""POST /webhook: every answer the receiver gives, against a real Redis."""
from __future__ import annotations

import dataclasses
import json
import logging
import zlib
from datetime import timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from config.settings import CoinWSettings, load_settings
from executor.app import create_app
from executor.localredis import free_port
from tests.conftest import WEBHOOK_SECRET


def alert(**fields):
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def post(client, body, content_type="application/json", headers=None):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/webhook", data=data, content_type=content_type, headers=headers or {})


def stored_job(redis, job_id):
    return Job.fetch(job_id, connection=redis, serializer=JSONSerializer)


def test_valid_alert_is_queued_with_202_and_stored_as_plain_json_without_secret(client, redis):
    answer = post(client, alert(id="tv-1"))
    assert answer.status_code == 202
    assert answer.json["status"] == "queued"
    job = stored_job(redis, answer.json["job_id"])
    payload = job.args[0]
    assert payload["alert"] == {"venue": "coinw", "action": "reverse", "symbol": "BTC", "id": "tv-1",
                                "raw_symbol": "BTCUSDT.P"}
    assert "received_at" in payload
    stored = json.loads(zlib.decompress(redis.hget(job.key, "data")))  # RQ zips the JSON it stores
    assert stored[0] == "workers.jobs.execute_alert" and stored[2] == [payload]
    assert WEBHOOK_SECRET not in json.dumps(stored) and WEBHOOK_SECRET.encode() not in b"".join(
        value for value in redis.hgetall(job.key).values())


def test_text_plain_body_is_read_as_json(client):
    answer = post(client, json.dumps(alert()), content_type="text/plain")
    assert answer.status_code == 202


def test_secret_may_come_in_the_header(client):
    body = alert()
    del body["secret"]
    answer = post(client, body, headers={"X-Webhook-Secret": WEBHOOK_SECRET})
    assert answer.status_code == 202


@pytest.mark.parametrize("secret", [None, "wrong", ""])
def test_missing_or_wrong_secret_is_401_without_saying_which(client, secret):
    answer = post(client, alert(secret=secret) if secret is not None else {k: v for k, v in alert().items()
                                                                            if k != "secret"})
    assert answer.status_code == 401
    assert answer.json == {"error": "unauthorized"}


def test_same_id_is_answered_200_with_the_same_job_for_a_day(client, redis):
    first = post(client, alert(id="signal-42"))
    again = post(client, alert(id="signal-42", symbol="ETHUSDT.P"))
    assert again.status_code == 200
    assert again.json == {"job_id": first.json["job_id"], "status": "queued", "duplicate": True}
    assert 86000 < redis.ttl("executor:dedupe:id:signal-42") <= 86400


def test_an_id_that_comes_again_with_a_different_alert_is_logged_as_a_warning(client, caplog):
    first = post(client, alert(id="signal-43"))
    with caplog.at_level(logging.WARNING, logger="executor.queueing"):
        assert post(client, alert(id="signal-43")).status_code == 200  # a plain resend: no warning
        assert [record for record in caplog.records if record.name == "executor.queueing"] == []
        assert post(client, alert(id="signal-43", action="close")).status_code == 200
    (record,) = [record for record in caplog.records if record.name == "executor.queueing"]
    assert record.getMessage() == (f"alert id signal-43 came again with a different alert (close coinw BTC); "
                                   f"answered as a duplicate of job {first.json['job_id']} and not performed: "
                                   f"give each signal its own id")


def test_same_body_without_id_is_a_duplicate_within_60_seconds(client, redis):
    first = post(client, alert(qty=None))
    again = post(client, json.dumps(alert()), content_type="text/plain")
    assert again.status_code == 200 and again.json["job_id"] == first.json["job_id"]
    (key,) = redis.keys("executor:dedupe:body:*")
    assert 0 < redis.ttl(key) <= 60


def test_a_different_body_is_a_new_job(client):
    first = post(client, alert())
    other = post(client, alert(action="close"))
    assert other.status_code == 202 and other.json["job_id"] != first.json["job_id"]


def test_the_first_job_of_an_instrument_is_on_rq_queue_as_rq_puts_it_and_the_next_waits_in_its_lane(
        client, redis, settings):
    queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
    first = stored_job(redis, post(client, alert(id="lane-1")).json["job_id"])
    second = stored_job(redis, post(client, alert(id="lane-2")).json["job_id"])
    assert (first.get_status(), first.origin, first.timeout) == ("queued", settings.queue_name, 45)
    assert first.enqueued_at is not None and first.meta["lane"] == "coinw:-:BTC"
    assert queue.job_ids == [first.id] and queue in Queue.all(connection=redis)
    assert (second.get_status(), second.enqueued_at) == ("deferred", None)
    assert redis.lrange("executor:lane:coinw:-:BTC", 0, -1) == [first.id.encode(), second.id.encode()]


def test_duplicate_whose_first_copy_was_never_enqueued_is_enqueued_now(client, redis):
    redis.set("executor:dedupe:id:lost-1", "alert-claimed-but-lost", ex=100)
    answer = post(client, alert(id="lost-1"))
    assert answer.status_code == 200 and answer.json["job_id"] == "alert-claimed-but-lost"
    assert stored_job(redis, "alert-claimed-but-lost").args[0]["alert"]["id"] == "lost-1"


def test_numbers_stay_exact_decimals_whether_number_or_string(client, redis):
    answer = post(client, '{"secret": "%s", "venue": "coinw", "action": "close", "symbol": "BTC", '
                          '"qty": 0.1, "price": "65000.50"}' % WEBHOOK_SECRET)
    payload = stored_job(redis, answer.json["job_id"]).args[0]["alert"]
    assert payload["qty"] == "0.1" and payload["price"] == "65000.50"


@pytest.mark.parametrize("body, field", [
    (alert(qty="abc", action="close"), "qty"),
    (alert(qty=True, action="close"), "qty"),
    (alert(qty=0, action="close"), "qty"),
    (alert(qty="-1", action="close"), "qty"),
    (alert(ratio="1.5", action="close"), "ratio"),
    (alert(ratio=0, action="close"), "ratio"),
    (alert(qty=1, ratio="0.5", action="close"), "ratio"),
    (alert(venue="kraken"), "venue"),
    (alert(action="buy"), "action"),
    (alert(symbol="{{ticker}}"), "symbol"),
    (alert(id="has space"), "id"),
    (alert(id="x" * 65), "id"),
    (alert(colour="blue"), "colour"),
    (alert(symbol=None), "symbol"),
    (alert(symbol=12), "symbol"),
    (alert(position_id="abc"), "position_id"),
    (alert(ratio="0.5"), "ratio"),
    (alert(qty=2), "qty"),
    (alert(sent_at="yesterday"), "sent_at"),
    (alert(sent_at=10**30), "sent_at"),  # beyond the platform's clock: was a 500
    (alert(sent_at="9" * 400), "sent_at"),
    (alert(sent_at=1e20), "sent_at"),
    (alert(side="buy"), "side"),
    (alert(symbol="BTC USDT!"), "symbol"),
])
def test_invalid_alert_is_400_naming_the_field(client, redis, body, field):
    answer = post(client, body)
    assert answer.status_code == 400
    assert field in answer.json["fields"], answer.json
    assert answer.json["error"]
    assert WEBHOOK_SECRET not in answer.get_data(as_text=True)
    assert redis.keys("rq:job:*") == []


def test_placeholder_left_unrendered_is_named(client):
    answer = post(client, alert(action="{{strategy.order.action}}"))
    assert answer.status_code == 400
    assert "placeholder" in answer.json["fields"]["action"][0]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe", b"", b'"text"'])
def test_body_that_is_not_a_json_object_is_400(client, raw):
    answer = post(client, raw, content_type="text/plain")
    assert answer.status_code == 400
    assert "_body" in answer.json["fields"]


def test_json_nested_too_deep_to_read_is_400_not_500(client):
    nested = b'{"a":' * 5000 + b"1" + b"}" * 5000  # under the 64 KiB cap, past Python's recursion limit
    answer = post(client, nested, content_type="text/plain")
    assert answer.status_code == 400
    assert "nested" in answer.json["fields"]["_body"][0]


def test_a_number_too_long_to_read_is_400_not_500(client):
    body = json.dumps(alert(action="close")).encode()[:-1] + b', "qty": ' + b"1" * 5000 + b"}"
    answer = post(client, body, content_type="text/plain")
    assert answer.status_code == 400
    assert answer.json["fields"]["_body"] == ["A number too long to read."]


@pytest.mark.parametrize("raw_qty, problem", [
    (b'"' + b"1" * 5000 + b'"', "less than 10^15"),  # as a string: read, then refused by size
    (b"1e400", "less than 10^15"),
    (b'"1000000000000000"', "less than 10^15"),
    (b"1e-400", "At most 18 decimal places"),
])
def test_a_quantity_no_venue_could_take_is_400_naming_it(client, raw_qty, problem):
    body = json.dumps(alert(action="close")).encode()[:-1] + b', "qty": ' + raw_qty + b"}"
    answer = post(client, body, content_type="text/plain")
    assert answer.status_code == 400
    assert problem in answer.json["fields"]["qty"][0]


def test_the_largest_and_finest_quantities_within_bounds_are_taken(client):
    for qty in ("999999999999999.5", "0.000000000000000001", "1.50000000000000000000000"):
        assert post(client, alert(action="close", qty=qty, id=None)).status_code == 202


def test_alert_older_than_max_alert_age_is_400(client, clock):
    sent = (clock.now - timedelta(seconds=301)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = post(client, alert(sent_at=sent))
    assert answer.status_code == 400
    assert "MAX_ALERT_AGE" in answer.json["fields"]["sent_at"][0]


def test_recent_alert_in_tradingview_time_format_is_accepted(client, clock, redis):
    sent = (clock.now - timedelta(seconds=299)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = post(client, alert(sent_at=sent))
    assert answer.status_code == 202
    assert stored_job(redis, answer.json["job_id"]).args[0]["alert"]["sent_at"] == sent


def test_alert_from_the_future_is_400(client, clock):
    sent = (clock.now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert post(client, alert(sent_at=sent)).status_code == 400


def test_body_over_64_kib_is_413(client):
    answer = post(client, alert(symbol="B" * (65 * 1024)))
    assert answer.status_code == 413
    assert answer.json["error"]


def test_venue_without_credentials_is_400_naming_the_venue(settings, redis, clock):
    bare = dataclasses.replace(settings, coinw=CoinWSettings())
    answer = post(create_app(bare, clock=clock).test_client(), alert())
    assert answer.status_code == 400
    assert "CoinW" in answer.json["fields"]["venue"][0]


def test_redis_down_is_503_so_the_sender_retries(settings, clock):
    down = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    answer = post(create_app(down, clock=clock).test_client(), alert())
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]


def allowlisted_client(settings, clock, allowed, proxies):
    env = {"WEBHOOK_SECRET": "x", "ALLOWED_IPS": allowed, "TRUSTED_PROXIES": str(proxies)}
    parsed = load_settings(env)
    tuned = dataclasses.replace(settings, allowed_networks=parsed.allowed_networks, trusted_proxies=proxies)
    return create_app(tuned, clock=clock).test_client()


def test_address_outside_allowed_ips_is_403(settings, redis, clock):
    client = allowlisted_client(settings, clock, "tradingview", 0)
    answer = client.post("/webhook", json=alert(), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert answer.status_code == 403


def test_tradingview_address_through_one_trusted_proxy_is_allowed(settings, redis, clock):
    client = allowlisted_client(settings, clock, "tradingview,10.0.0.0/8", 1)
    answer = client.post("/webhook", json=alert(), environ_base={"REMOTE_ADDR": "10.1.2.3"},
                         headers={"X-Forwarded-For": "198.51.100.7, 52.89.214.238"})
    assert answer.status_code == 202


def test_forged_forwarded_for_beyond_the_trusted_hops_is_not_believed(settings, redis, clock):
    client = allowlisted_client(settings, clock, "tradingview", 1)
    answer = client.post("/webhook", json=alert(), environ_base={"REMOTE_ADDR": "10.1.2.3"},
                         headers={"X-Forwarded-For": "52.89.214.238, 203.0.113.9"})
    assert answer.status_code == 403


def test_wrong_method_and_unknown_path_answer_json(client):
    assert client.get("/webhook").status_code == 405
    assert client.get("/nowhere").json["error"]
