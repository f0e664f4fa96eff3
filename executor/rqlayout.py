"""Everything the product knows of RQ's Redis layout, in this one module.

The product uses RQ through its public API: its worker classes and their hooks, its queues, jobs,
registries and ``Retry``. A few guarantees need Redis scripts that touch RQ's keys in the same atomic
step as keys of the product's own, and those scripts must know how RQ lays its data out:

- the started job registry (``rq:wip:<queue>``) is a sorted set whose members are
  ``<job id>:<execution id>`` (``Execution.composite_key``), scored by the time the running
  execution's heartbeat lapses (``now + Worker.get_heartbeat_ttl``). A worker's hold on a job is its
  member there; the fence before a request that acts and the whole writes of a job's history check it;
- the scheduled job registry is a sorted set of job ids scored by the epoch second they are due;
- a queue is a list of job ids, registered in the set ``Queue.redis_queues_keys``; a queued job's hash
  has ``status`` ``queued`` and ``enqueued_at`` in RQ's time format;
- the failed job registry is a sorted set of job ids scored by when they expire.

``tests/test_rq_contract.py`` checks each of these facts, and the signature of every RQ method the
product overrides or calls, against the installed RQ: an upgrade that changes one fails there, naming it.

Holds outlive their takeover. A running job's heartbeat keeps its member's score ``HOLD_TTL_SECONDS``
ahead, but housekeeping gives the job to another worker once it is ``RQ_CLEANUP_MARGIN_SECONDS``
short of that, ``HOLD_LAPSE_SECONDS`` after the last beat. RQ's own maintenance, which fails any job
whose member it finds expired (it has no way to hand it over), so only ever meets members that the
product's housekeeping has had a full minute to take over.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script
from rq import Queue
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.utils import now as rq_now, utcformat

#: A running job is taken over this long after its last heartbeat (its worker died or was cut off).
HOLD_LAPSE_SECONDS = 10
#: How much longer the member stays in RQ's started registry than the product's takeover needs.
RQ_CLEANUP_MARGIN_SECONDS = 60
#: The heartbeat's time to live, as the worker gives it to RQ (``get_heartbeat_ttl``).
HOLD_TTL_SECONDS = HOLD_LAPSE_SECONDS + RQ_CLEANUP_MARGIN_SECONDS

# hold_left_us(registry, member, now_us): microseconds until the hold may be taken over; nil if it is gone.
HOLD_LEFT_LUA = """
local function hold_left_us(registry, member, now_us)
  local score = redis.call('ZSCORE', registry, member)
  if not score then return nil end
  return (tonumber(score) - %d) * 1000000 - now_us
end
""" % RQ_CLEANUP_MARGIN_SECONDS

# rq_enqueue(job_key, queue_key, queues_key, job_id, enqueued_at): leaves the job as Queue.enqueue_job does.
RQ_ENQUEUE_LUA = """
local function rq_enqueue(job_key, queue_key, queues_key, job_id, enqueued_at)
  redis.call('HSET', job_key, 'status', 'queued', 'enqueued_at', enqueued_at)
  redis.call('SADD', queues_key, queue_key)
  redis.call('RPUSH', queue_key, job_id)
end
"""

_SAVE_IF_HELD = """
-- KEYS[1]: the job's hash; KEYS[2]: the started job registry. ARGV[1]: the holder's member; ARGV[2]: the field;
-- ARGV[3]: its value.
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""
_save_if_held: Script | None = None


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one job: its member ``<job id>:<execution id>`` in RQ's started job registry."""

    registry_key: str
    member: str

    @classmethod
    def of(cls, job: Job, execution: Execution) -> Lease:
        return cls(job.started_job_registry.key, execution.composite_key)

    @property
    def job_id(self) -> str:
        return job_id_of(self.member)

    def held(self, connection: Redis) -> bool:
        """The member is still there: housekeeping has not given the job to another worker."""
        return connection.zscore(self.registry_key, self.member) is not None

    def save_field(self, connection: Redis, job_key: str, field: str, value: str | bytes) -> bool:
        """Write one field of the job's hash if this hold is still there; False (nothing written) if not."""
        global _save_if_held
        if _save_if_held is None:
            _save_if_held = connection.register_script(_SAVE_IF_HELD)
        return bool(_save_if_held(keys=[job_key, self.registry_key], args=[self.member, field, value],
                                  client=connection))


def job_id_of(member: str) -> str:
    """The job id of a started registry member ``<job id>:<execution id>`` (job ids hold no colon)."""
    return member.split(":", 1)[0]


def enqueued_at_now() -> str:
    """``enqueued_at`` as RQ writes it, for ``rq_enqueue``."""
    return utcformat(rq_now())


def claim_lapsed_holds(connection: Redis, queue: Queue, now: float) -> Iterator[str]:
    """Job ids of the holds in ``queue``'s started registry that have lapsed by ``now`` (Redis's clock), each
    member removed first: the caller whose ZREM removed it takes the job over, so no two callers do."""
    registry = queue.started_job_registry.key
    for raw in connection.zrangebyscore(registry, 0, now + RQ_CLEANUP_MARGIN_SECONDS):
        if connection.zrem(registry, raw) == 1:
            yield job_id_of(raw.decode())


def claim_due_scheduled(connection: Redis, queue: Queue, now: float | None = None) -> Iterator[str]:
    """Job ids in ``queue``'s scheduled registry due by ``now``, each removed first, as above."""
    registry = queue.scheduled_job_registry.key
    now = time.time() if now is None else now
    for raw in connection.zrangebyscore(registry, 0, now):
        if connection.zrem(registry, raw) == 1:
            yield raw.decode()


def overdue_scheduled(queue: Queue, now: float) -> tuple[int, float | None]:
    """How many jobs of ``queue``'s scheduled registry were due by ``now``, and when the first was due."""
    registry = queue.scheduled_job_registry.key
    first = queue.connection.zrangebyscore(registry, 0, now, start=0, num=1, withscores=True)
    if not first:
        return 0, None
    return queue.connection.zcount(registry, 0, now), first[0][1]


def fail_unreadable_fields(writes: Redis | Pipeline, queue: Queue, job_id: str, message: str,
                           retention_seconds: int) -> None:
    """Fail a job RQ cannot load (so cannot fail through its API): its status, end and reason written as
    fields, and the job in the failed registry for ``retention_seconds``."""
    key = Job.key_for(job_id)
    writes.hset(key, mapping={"status": JobStatus.FAILED.value, "ended_at": utcformat(rq_now()),
                              "exc_info": message})
    writes.expire(key, retention_seconds)
    writes.zadd(queue.failed_job_registry.key, {job_id: time.time() + retention_seconds})
