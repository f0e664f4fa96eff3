"""The signal log: every webhook request recorded, accepted or refused, never a secret, bounded, one command."""
from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from executor.app import create_app
from executor.console.redaction import MAX_EXCERPT
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def alert(**fields):
    return {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P", **fields}


def signals(client, **query):
    answer = client.get("/alerts", query_string=query, headers=AUTH)
    assert answer.status_code == 200, answer.json
    return answer.json["alerts"]


def everything_in(redis) -> bytes:
    """Every byte Redis holds, key names and values alike (DUMP of each key)."""
    return b"".join(key + (redis.dump(key) or b"") for key in redis.scan_iter())


def test_an_accepted_alert_is_recorded_with_its_job_its_fields_and_the_real_address(client):
    answer = client.post("/webhook", json=alert(id="sig-1"), environ_base={"REMOTE_ADDR": "52.89.214.238"})
    (entry,) = signals(client)
    assert entry["outcome"] == "accepted" and entry["status"] == 202 and entry["reason"] is None
    assert entry["jobs"] == [{"job_id": answer.json["job_id"], "account": "default", "status": "queued",
                              "duplicate": False}]
    assert entry["alert"] == {"secret": "***", "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P",
                              "id": "sig-1"}
    assert entry["address"] == "52.89.214.238" and entry["route"] == "POST /webhook" and entry["at"]


def test_a_repeated_alert_is_recorded_as_a_duplicate_of_the_same_job(client):
    first = client.post("/webhook", json=alert(id="sig-2")).json["job_id"]
    assert client.post("/webhook", json=alert(id="sig-2")).status_code == 200
    newest, oldest = signals(client)
    assert (newest["outcome"], newest["status"], newest["jobs"][0]["job_id"]) == ("duplicate", 200, first)
    assert newest["jobs"][0]["duplicate"] is True and oldest["outcome"] == "accepted"


def test_an_alert_naming_several_accounts_records_every_job(client, settings, redis, clock):
    from config.accounts import ApiAccount
    from config.secrets import Secret
    from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY

    coinw = dataclasses.replace(settings.coinw, accounts={"hedge": ApiAccount(DEMO_COINW_API_KEY,
                                                                              Secret(DEMO_COINW_SECRET_KEY))})
    client = create_app(dataclasses.replace(settings, coinw=coinw), clock=clock).test_client()
    answer = client.post("/webhook", json=alert(account="default,hedge"))
    (entry,) = signals(client)
    assert [job["job_id"] for job in entry["jobs"]] == [job["job_id"] for job in answer.json["jobs"]]
    assert [job["account"] for job in entry["jobs"]] == ["default", "hedge"]


@pytest.mark.parametrize("body, reason, field", [
    (alert(symbol="{{ticker}}"), "The alert is invalid.", "symbol"),
    (alert(venue="bitget"), None, "venue"),
    (alert(action="explode"), "The alert is invalid.", "action"),
])
def test_a_refused_alert_is_recorded_with_its_reason_and_field_errors(client, body, reason, field):
    answer = client.post("/webhook", json=body)
    assert answer.status_code == 400
    (entry,) = signals(client, outcome="refused")
    assert entry["outcome"] == "refused" and entry["status"] == 400 and entry["jobs"] == []
    assert entry["reason"] == answer.json["error"] and (reason is None or entry["reason"] == reason)
    assert entry["fields"][field] == answer.json["fields"][field]
    assert entry["alert"]["symbol"] == body["symbol"] and entry["alert"]["secret"] == "***"


def test_a_wrong_secret_is_recorded_and_neither_secret_appears_anywhere_in_redis(client, redis):
    wrong = "my-old-secret-0042"
    client.post("/webhook", json=alert(secret=wrong))
    client.post("/webhook", json=alert(id="sig-3"))
    refused, = signals(client, outcome="refused")
    assert refused["status"] == 401 and refused["reason"] == "missing or wrong secret"
    assert refused["alert"]["secret"] == "***"
    stored = everything_in(redis)
    assert WEBHOOK_SECRET.encode() not in stored and wrong.encode() not in stored
    listed = json.dumps(signals(client))
    assert WEBHOOK_SECRET not in listed and wrong not in listed


def test_fields_named_like_credentials_are_hidden_and_the_secret_is_blotted_out_of_any_field(client, redis):
    client.post("/webhook", json=alert(symbol=f"x{WEBHOOK_SECRET}", extra={
        "api_key": "AKIA-1", "Password": "p@ss", "nested": {"passphrase": "pp", "note": "fine"}}))
    (entry,) = signals(client, outcome="refused")
    extra = entry["alert"]["extra"]
    assert extra == {"api_key": "***", "Password": "***", "nested": {"passphrase": "***", "note": "fine"}}
    assert entry["alert"]["symbol"] == "x***"
    stored = everything_in(redis)
    assert all(value not in stored for value in (WEBHOOK_SECRET.encode(), b"AKIA-1", b"p@ss"))


def test_a_body_that_is_not_json_is_kept_as_a_short_escaped_excerpt_without_secrets(client, redis):
    body = (b"secret=hunter2&token: abc123\x00\x1b[31m<script>" + WEBHOOK_SECRET.encode() + b"\xff" + b"A" * 5000)
    assert client.post("/webhook", data=body, content_type="text/plain").status_code == 400
    (entry,) = signals(client)
    excerpt = entry["excerpt"]
    assert entry["alert"] is None and entry["size"] == len(body)
    assert "hunter2" not in excerpt and "abc123" not in excerpt and WEBHOOK_SECRET not in excerpt
    assert "\\x00" in excerpt and "\\x1b" in excerpt and "\x00" not in excerpt and "\\xff" in excerpt
    assert len(excerpt) <= MAX_EXCERPT + 40 and excerpt.endswith(f"({len(body)} bytes)")
    assert b"hunter2" not in everything_in(redis)


def test_every_refusal_of_the_webhook_is_recorded(client, settings, redis, clock):
    import ipaddress

    client.post("/webhook", data=b"x" * (70 * 1024), content_type="text/plain")  # 413
    guarded = create_app(dataclasses.replace(settings, allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),)),
                         clock=clock).test_client()
    guarded.post("/webhook", json=alert())  # 403
    statuses = sorted(entry["status"] for entry in signals(client))
    assert statuses == [403, 413]
    assert {entry["outcome"] for entry in signals(client)} == {"refused"}


def test_a_flood_of_refused_requests_never_pushes_an_accepted_alert_out(settings, redis, clock):
    client = create_app(dataclasses.replace(settings, signal_log_max=5), clock=clock).test_client()
    accepted = client.post("/webhook", json=alert(id="keep-me")).json["job_id"]
    for number in range(12):
        client.post("/webhook", json=alert(action=f"bad-{number}"))
    assert [entry["jobs"][0]["job_id"] for entry in signals(client, outcome="accepted")] == [accepted]
    refused = signals(client, outcome="refused")
    assert len(refused) == 5 and refused[0]["alert"]["action"] == "bad-11"


def test_entries_older_than_signal_log_days_are_dropped(client, redis):
    stream = client.application.extensions["console"].signal_log.streams["r"]
    eight_days_ago_ms = int((time.time() - 8 * 86400) * 1000)
    redis.xadd(stream, {"entry": json.dumps({"outcome": "refused"}), "status": 400}, id=f"{eight_days_ago_ms}-0")
    client.post("/webhook", json=alert(action="nope"))
    assert redis.xlen(stream) == 1
    assert 0 < redis.pttl(stream) <= 7 * 86400 * 1000


class Commands:
    """Every command Redis receives from one client (``of``: the web app's connection) while the block runs
    (MONITOR); the commands its scripts run are not the client's."""

    def __init__(self, redis, of) -> None:
        self.redis = redis
        self.port = of.client_info()["addr"].rsplit(":", 1)[1]  # a single-threaded client reuses one connection
        self.seen: list[dict] = []

    def __enter__(self) -> Commands:
        self.monitor = self.redis.monitor().__enter__()  # sends MONITOR and reads its OK
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()
        return self

    def _collect(self) -> None:
        while True:
            command = self.monitor.next_command()
            if command["command"] == "ECHO end-of-commands":
                return
            self.seen.append(command)

    def __exit__(self, *exc) -> None:
        self.redis.echo("end-of-commands")
        self.thread.join(timeout=10)
        self.monitor.__exit__(*exc)

    @property
    def from_clients(self) -> list[str]:
        return [command["command"] for command in self.seen
                if command.get("client_type") != "lua" and str(command.get("client_port")) == self.port]


def test_a_refused_request_costs_one_redis_command_and_an_accepted_one_adds_one(client, redis):
    client.post("/webhook", json=alert(action="warm"))  # loads the scripts once
    client.post("/webhook", json=alert(id="warm"))
    web = client.application.extensions["executor"].redis
    with Commands(redis, web) as refused:
        client.post("/webhook", json=alert(action="bad"))
    assert len(refused.from_clients) == 1 and refused.from_clients[0].startswith("EVALSHA")
    with Commands(redis, web) as wrong_secret:
        client.post("/webhook", json=alert(secret="wrong"))
    assert len(wrong_secret.from_clients) == 1  # the lockout count and the entry: one script
    with Commands(redis, web) as accepted:
        client.post("/webhook", json=alert(id="counted"))
    log_writes = [command for command in accepted.from_clients if "signals:" in command]
    assert len(log_writes) == 1 and log_writes[0].startswith("EVALSHA")
    assert len(accepted.from_clients) == 2  # intake's one script, and the entry


def test_the_answer_is_unchanged_when_the_log_cannot_be_written(client, redis, caplog):
    stream = client.application.extensions["console"].signal_log.streams["a"]
    redis.set(stream, "not a stream")  # every XADD to it now fails
    answer = client.post("/webhook", json=alert(id="still-queued"))
    assert answer.status_code == 202 and answer.json["status"] == "queued"
    assert "signal log: could not record" in caplog.text


def test_entries_of_one_millisecond_in_both_streams_keep_the_order_they_were_written_in(client, redis):
    log = client.application.extensions["console"].signal_log
    now_ms = int(time.time() * 1000)
    for number, (suffix, outcome) in enumerate([("a", "accepted"), ("r", "refused"), ("a", "accepted"),
                                                ("r", "refused")], start=1):
        entry = {"outcome": outcome, "reason": f"written {number}", "jobs": []}
        redis.xadd(log.streams[suffix], {"entry": json.dumps(entry), "status": 200, "n": number},
                   id=f"{now_ms}-{number}")
    pages, cursor = [], None
    while True:
        page = log.page(frozenset({"accepted", "refused"}), limit=1, cursor=cursor)
        pages += [entry["reason"] for entry in page.entries]
        if (cursor := page.next_cursor) is None:
            break
    assert pages == ["written 4", "written 3", "written 2", "written 1"]
