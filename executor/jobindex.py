"""The jobs of a queue by when their alert was received: one sorted set, so that a page of the newest jobs
reads about as many jobs as it shows, however many are kept.

Intake adds each job in the script that saves it (``executor.queueing``). A job whose hash has expired or was
deleted leaves the index when a listing meets it, or when the sweep passes (``workers.sweep``), which also
adds any job the index lacks (one saved by an earlier release, or restored from a copy of Redis).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from redis import Redis
from rq import Queue

from executor.keyspace import key_prefix
from executor.rqlayout import RQKeys
from executor.scripts import LuaScript, text

# KEYS: the index. ARGV: the job key prefix, then ids. Each id whose job hash is gone leaves the index.
_FORGET_GONE = LuaScript("""
local removed = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
""")


def index_key(queue_name: str) -> str:
    return key_prefix(queue_name) + "jobs-by-time"


def score(received_at: datetime) -> float:
    """A job's place in the index: when its alert was received, in seconds since the epoch."""
    return received_at.timestamp()


def newest_first(queue: Queue, *, at_most: float | None = None, at_least: float | None = None,
                 batch: int = 200) -> Iterator[list[tuple[str, float]]]:
    """(job id, score) of the indexed jobs received from ``at_most`` down to ``at_least`` (both included), newest
    first, ``batch`` at a time. A job indexed meanwhile above ``at_most`` can shift a batch by one: the caller
    may meet an id twice, never miss one."""
    top = "+inf" if at_most is None else repr(at_most)
    bottom = "-inf" if at_least is None else repr(at_least)
    offset = 0
    while True:
        found = queue.connection.zrevrangebyscore(index_key(queue.name), top, bottom, start=offset, num=batch,
                                                  withscores=True)
        if not found:
            return
        yield [(text(job_id), float(at)) for job_id, at in found]
        offset += len(found)


def received_at_the_same_time(queue: Queue, at: float) -> list[str]:
    """Every indexed job received at ``at`` (the jobs of one alert's accounts share its moment)."""
    return [text(job_id) for job_id in queue.connection.zrangebyscore(index_key(queue.name), at, at)]


def forget_gone(queue: Queue, job_ids: list[str]) -> int:
    """Take out of the index those of ``job_ids`` whose job hash no longer exists; how many left."""
    if not job_ids:
        return 0
    return int(_FORGET_GONE(queue.connection, [index_key(queue.name)], [RQKeys.of(queue).job_prefix, *job_ids]))


def add_missing(connection: Redis, queue_name: str, scores: dict[str, float]) -> int:
    """Index the jobs of ``scores`` that are not indexed yet (an indexed one keeps its place); how many were."""
    if not scores:
        return 0
    return int(connection.zadd(index_key(queue_name), scores, nx=True))


def forget_all_gone(queue: Queue, batch: int = 500) -> int:
    """Take out of the index every job whose hash no longer exists, a batch at a time (for the sweep)."""
    removed, ids = 0, []
    for job_id, _ in queue.connection.zscan_iter(index_key(queue.name), count=batch):
        ids.append(text(job_id))
        if len(ids) >= batch:
            removed, ids = removed + forget_gone(queue, ids), []
    return removed + forget_gone(queue, ids)
