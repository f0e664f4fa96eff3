"""Guesses slowed: wrong webhook secrets and wrong admin tokens lock their address out, growing, through Redis."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from executor.app import create_app
from executor.console.lockout import FIRST_LOCK_SECONDS, FREE_FAILURES, MEMORY_SECONDS, counted_address
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TRADINGVIEW = {"REMOTE_ADDR": "52.89.214.238"}


def alert(secret=WEBHOOK_SECRET, **fields):
    return {"secret": secret, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}


def send(client, secret, **fields):
    return client.post("/webhook", json=alert(secret, **fields), environ_base=TRADINGVIEW)


def refused_entries(client):
    return client.get("/alerts", query_string={"outcome": "refused"}, headers=AUTH).json["alerts"]


def test_wrong_secrets_lock_their_address_out_but_a_right_secret_from_it_is_still_accepted(client):
    answers = [send(client, f"guess-{number}").status_code for number in range(FREE_FAILURES)]
    assert answers == [401] * FREE_FAILURES
    locked = send(client, "guess-next")
    assert locked.status_code == 429 and locked.headers["Retry-After"] == str(FIRST_LOCK_SECONDS)
    assert "a right secret is still accepted" in locked.json["error"]
    accepted = send(client, WEBHOOK_SECRET, id="during-lock")
    assert accepted.status_code == 202  # TradingView's four addresses are shared by all its users
    assert client.post("/webhook", json=alert("guess-elsewhere")).status_code == 401  # another address


def test_each_wrong_secret_past_the_free_ones_doubles_the_lock_and_the_lock_ends(client, clock):
    for number in range(FREE_FAILURES):
        send(client, f"guess-{number}")
    waits = []
    for _ in range(3):
        answer = send(client, "guess")
        waits.append(int(answer.headers["Retry-After"]))
        clock.now += timedelta(seconds=waits[-1])  # the lock has ended: the next wrong one locks again, longer
    assert waits == [FIRST_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2, FIRST_LOCK_SECONDS * 4]


def test_a_lockout_shows_in_the_signal_log_with_its_end_and_count(client, clock, redis):
    for number in range(FREE_FAILURES + 1):
        send(client, f"guess-{number}")
    newest = refused_entries(client)[0]
    assert newest["status"] == 429 and newest["address"] == "52.89.214.238"
    assert newest["lockout"]["failures"] == FREE_FAILURES + 1
    assert newest["lockout"]["until"] == (clock.now + timedelta(seconds=FIRST_LOCK_SECONDS)).isoformat()
    assert "locked out until" in newest["reason"] and "a right secret is still accepted" in newest["reason"]
    assert all(entry["lockout"] is None for entry in refused_entries(client)[1:])
    key = client.application.extensions["console"].webhook_lockout.key("52.89.214.238")
    assert (MEMORY_SECONDS - 5) * 1000 < redis.pttl(key) <= (MEMORY_SECONDS + FIRST_LOCK_SECONDS) * 1000


def test_wrong_admin_tokens_lock_the_address_out_of_the_right_one_too_until_the_lock_ends(client, clock):
    wrong = {"Authorization": "Bearer not-it"}
    assert [client.get("/jobs", headers=wrong).status_code for _ in range(FREE_FAILURES)] == [401] * FREE_FAILURES
    locked = client.get("/alerts", headers=wrong)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == FIRST_LOCK_SECONDS
    assert client.get("/jobs", headers=AUTH).status_code == 429  # a locked address is not told which is right
    clock.now += timedelta(seconds=FIRST_LOCK_SECONDS)
    assert client.get("/jobs", headers=AUTH).status_code == 200


def test_an_admin_lockout_shows_in_the_signal_log_naming_the_route_never_the_token(client, clock):
    for _ in range(FREE_FAILURES + 1):
        client.get("/jobs/alert-x", headers={"Authorization": "Bearer guessed-token-77"})
    clock.now += timedelta(seconds=FIRST_LOCK_SECONDS)
    (entry,) = refused_entries(client)
    assert entry["route"] == "GET /jobs/alert-x" and entry["status"] == 429
    assert entry["reason"].startswith("wrong admin token") and "locked out" in entry["reason"]
    assert "guessed-token-77" not in str(entry)


def test_a_request_without_any_token_is_not_counted_as_a_guess(client):
    for _ in range(FREE_FAILURES * 3):
        assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers=AUTH).status_code == 200


def test_the_count_is_shared_by_every_web_process_through_redis(settings, redis, clock):
    first, second = (create_app(settings, clock=clock).test_client() for _ in range(2))
    for number in range(FREE_FAILURES):
        (first if number % 2 else second).post("/webhook", json=alert(f"guess-{number}"))
    assert first.post("/webhook", json=alert("guess")).status_code == 429
    assert second.post("/webhook", json=alert("guess")).status_code == 429


def test_behind_a_trusted_proxy_the_real_client_is_counted_and_logged(settings, redis, clock):
    client = create_app(dataclasses.replace(settings, trusted_proxies=1), clock=clock).test_client()

    def from_address(address, secret):
        return client.post("/webhook", json=alert(secret), headers={"X-Forwarded-For": address})

    for number in range(FREE_FAILURES):
        from_address("198.51.100.7", f"guess-{number}")
    assert from_address("198.51.100.7", "guess").status_code == 429
    assert from_address("203.0.113.9", "guess").status_code == 401  # the proxy's own address is not what counts
    entries = refused_entries(client)
    assert [entry["address"] for entry in entries[:2]] == ["203.0.113.9", "198.51.100.7"]


@pytest.mark.parametrize("address, counted", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:198.51.100.7", "198.51.100.7"),
    ("", "unknown"),
    (None, "unknown"),
])
def test_an_ipv6_address_counts_by_its_64_and_an_ipv4_one_by_itself(address, counted):
    assert counted_address(address) == counted
