"""The job index: GET /jobs reads jobs newest first only until a page is full, pages meet every job once, and
the index follows the jobs (gone ones leave it, ones it lacks are added by the sweep)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from executor.alertqueue import make_queue
from executor.console import joblist
from executor.jobindex import index_key
from executor.replay import list_jobs
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from workers.sweep import sweep_job_hashes

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def queue(settings, redis):
    return make_queue(redis, settings)


def send(client, symbol: str = "BTC") -> str:
    answer = client.post("/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse",
                                           "symbol": symbol, "id": uuid.uuid4().hex})
    assert answer.status_code == 202, answer.json
    return answer.json["job_id"]


def page(client, **query) -> dict:
    answer = client.get("/jobs", query_string=query, headers=AUTH)
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.fixture
def read_counts(monkeypatch) -> list[int]:
    """How many job ids GET /jobs read, per read."""
    counts: list[int] = []
    real = joblist.readable_jobs

    def counting(connection, ids):
        counts.append(len(ids))
        return real(connection, ids)

    monkeypatch.setattr(joblist, "readable_jobs", counting)
    return counts


def test_pages_read_only_until_full_and_meet_every_job_once_in_order_across_moments_shared_by_several(
        client, clock, queue, monkeypatch, read_counts):
    monkeypatch.setattr(joblist, "INDEX_BATCH", 2)
    sent = []
    for moment in range(20):  # three alerts at each moment: a page may end inside a moment
        sent += [send(client, symbol) for symbol in ("BTC", "ETH", "SOL")]
        clock.now += timedelta(seconds=1)
    newest_first = [job.id for job in reversed(list_jobs(queue, "all"))]
    assert sorted(newest_first) == sorted(sent)

    seen, cursor, pages = [], None, 0
    while True:
        read_counts.clear()
        answer = page(client, limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [job["job_id"] for job in answer["jobs"]]
        pages += 1
        # batches of limit + 1 (the first may hold jobs of the cursor's moment already shown), then the rest of
        # the last moment read: about a page's worth, never the 60 jobs kept
        assert sum(read_counts) <= 2 * (4 + 1) + 2, read_counts
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first and pages == 15


def test_filters_read_on_until_the_page_is_full(client, clock, monkeypatch):
    monkeypatch.setattr(joblist, "INDEX_BATCH", 2)
    eth = []
    for n in range(12):
        clock.now += timedelta(seconds=1)
        job_id = send(client, "ETH" if n % 4 == 0 else "BTC")
        eth += [job_id] if n % 4 == 0 else []
    assert [job["job_id"] for job in page(client, symbol="ETH", limit=2)["jobs"]] == eth[::-1][:2]
    assert [job["job_id"] for job in page(client, symbol="ETH", limit=5)["jobs"]] == eth[::-1]


def test_a_job_whose_hash_is_gone_leaves_the_index_when_a_page_meets_it(client, clock, queue, redis):
    kept = send(client)
    clock.now += timedelta(seconds=1)
    deleted = send(client, "ETH")
    redis.delete(queue.job_class.key_for(deleted))
    assert [job["job_id"] for job in page(client)["jobs"]] == [kept]
    assert redis.zscore(index_key(queue.name), deleted) is None
    assert redis.zscore(index_key(queue.name), kept) is not None


def test_the_sweep_indexes_a_job_the_index_lacks_at_its_alerts_moment_and_forgets_gone_ones(
        client, clock, queue, redis):
    older = send(client)
    clock.now += timedelta(seconds=1)
    newer = send(client, "ETH")
    clock.now += timedelta(seconds=1)
    deleted = send(client, "SOL")
    key = index_key(queue.name)
    at = redis.zscore(key, older)
    redis.zrem(key, older)  # as a job saved by an earlier release
    redis.delete(queue.job_class.key_for(deleted))  # expired, never listed since
    assert [job["job_id"] for job in page(client, search=older)["jobs"]] == [older]  # a search reads every job
    assert [job["job_id"] for job in page(client)["jobs"]] == [newer]

    sweep_job_hashes(queue)
    assert redis.zscore(key, older) == at and redis.zscore(key, deleted) is None
    assert [job["job_id"] for job in page(client)["jobs"]] == [newer, older]
