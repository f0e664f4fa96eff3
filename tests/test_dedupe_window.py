"""DEDUPE_WINDOW: how long an alert without ``id`` is taken for a re-send of the same body; 0 turns that off."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.coinw import REVERSE, open_position, positions, venue_requests, view
from tests.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.e2e

REVERSE_ALERT = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTCUSDT.P"}


def with_window(app, settings, seconds: int) -> None:
    app.extensions["executor"].settings = dataclasses.replace(settings, dedupe_window=seconds)


def test_two_identical_reverse_alerts_2_s_apart_without_id_are_both_performed_with_dedupe_window_0(
        client, app, settings, simulator, run_jobs, clock):
    with_window(app, settings, 0)
    open_position(simulator, "long", "10")
    first = client.post("/webhook", json=REVERSE_ALERT)
    clock.now += timedelta(seconds=2)
    second = client.post("/webhook", json=REVERSE_ALERT)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json["job_id"] != second.json["job_id"]
    run_jobs()
    assert [view(client, answer.json["job_id"])["status"] for answer in (first, second)] == ["finished"] * 2
    assert len(venue_requests(simulator, REVERSE)) == 2
    (after,) = positions(simulator)
    assert after["direction"] == "long"  # reversed twice: back where it started


def test_with_the_default_window_the_same_body_again_is_the_same_job(client, settings, simulator, run_jobs, redis):
    assert settings.dedupe_window == 60
    open_position(simulator, "long", "10")
    first = client.post("/webhook", json=REVERSE_ALERT)
    second = client.post("/webhook", json=REVERSE_ALERT)
    assert second.status_code == 200 and second.json["job_id"] == first.json["job_id"]
    run_jobs()
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_the_window_is_how_long_the_body_is_remembered(client, app, settings, redis):
    with_window(app, settings, 5)
    client.post("/webhook", json=REVERSE_ALERT)
    (key,) = redis.keys("executor:dedupe:body:*")
    assert 0 < redis.ttl(key) <= 5


def test_an_id_deduplicates_for_a_day_whatever_the_window(client, app, settings, redis):
    with_window(app, settings, 0)
    first = client.post("/webhook", json={**REVERSE_ALERT, "id": "tv-1-2026-01-31T12:00:00Z"})
    again = client.post("/webhook", json={**REVERSE_ALERT, "id": "tv-1-2026-01-31T12:00:00Z"})
    assert again.status_code == 200 and again.json["job_id"] == first.json["job_id"]
    assert redis.keys("executor:dedupe:body:*") == []
