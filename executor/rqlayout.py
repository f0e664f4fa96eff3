"""Everything the product knows of RQ's Redis layout, in this one module.

The product uses RQ through its public API: its worker classes and their hooks, its queues, jobs,
registries and ``Retry``. Every move of a job between the queue, RQ's registries and a lane must be one
atomic step (a Redis script), and those scripts must know how RQ lays its data out:

- a job is the hash ``Job.key_for(id)`` (``Job.redis_job_namespace_prefix`` + id); its ``status`` field
  holds the ``JobStatus`` value and its ``meta`` field the job serializer's dump of ``job.meta``;
- the started job registry (``rq:wip:<queue>``) is a sorted set whose members are
  ``<job id>:<execution id>`` (``Execution.composite_key``), scored by the time the running
  execution's heartbeat lapses (``now + Worker.get_heartbeat_ttl``). A worker's hold on a job is its
  member there; the fence before a request that acts and the whole writes of a job's history check it;
- the scheduled, finished, failed, deferred and canceled registries are sorted sets of job ids; the
  scheduled one is scored by the epoch second a job is due, the finished and failed ones by when the
  entry expires (``now + ttl``, the job's hash expiring then too);
- a queue is a list of job ids, registered in the set ``Queue.redis_queues_keys``; a queued job's hash
  has ``status`` ``queued`` and ``enqueued_at`` in RQ's time format;
- a worker's dequeue moves the id from the queue to the queue's intermediate list
  (``Queue.intermediate_queue_key``), where it stays until the worker has put its hold in the started
  registry; RQ's own clean-up fails a job it finds there without a hold, a minute or more later;
- RQ's failure of a job writes its ``status`` ``failed`` and ``ended_at``, puts it in the failed registry
  and sets its hash to expire with it.

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

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.utils import now as rq_now, utcformat

from executor.scripts import LuaScript, text

#: A running job is taken over this long after its last heartbeat (its worker died or was cut off).
HOLD_LAPSE_SECONDS = 10
#: How much longer the member stays in RQ's started registry than the product's takeover needs.
RQ_CLEANUP_MARGIN_SECONDS = 60
#: The heartbeat's time to live, as the worker gives it to RQ (``get_heartbeat_ttl``).
HOLD_TTL_SECONDS = HOLD_LAPSE_SECONDS + RQ_CLEANUP_MARGIN_SECONDS
#: At most this many due jobs are released by one script (the rest by the next, at once).
RELEASE_BATCH = 100

# hold_left_us(registry, member, now_us): microseconds until the hold may be taken over; nil if it is gone.
HOLD_LEFT_LUA = """
local function hold_left_us(registry, member, now_us)
  local score = redis.call('ZSCORE', registry, member)
  if not score then return nil end
  return (tonumber(score) - %d) * 1000000 - now_us
end
""" % RQ_CLEANUP_MARGIN_SECONDS

# rq_status(job_key): the job's status word (false when the job is gone). rq_meta(job_key): its meta as stored ('' for
# none). rq_set_meta(job_key, meta): replace it with ``meta``, the job serializer's dump of a whole meta.
RQ_JOB_LUA = """
local function rq_status(job_key) return redis.call('HGET', job_key, 'status') end
local function rq_meta(job_key) return redis.call('HGET', job_key, 'meta') or '' end
local function rq_set_meta(job_key, meta) redis.call('HSET', job_key, 'meta', meta) end
"""

# rq_enqueue(job_key, queue_key, queues_key, job_id, enqueued_at): leaves the job as Queue.enqueue_job does.
RQ_ENQUEUE_LUA = """
local function rq_enqueue(job_key, queue_key, queues_key, job_id, enqueued_at)
  redis.call('HSET', job_key, 'status', 'queued', 'enqueued_at', enqueued_at)
  redis.call('SADD', queues_key, queue_key)
  redis.call('RPUSH', queue_key, job_id)
end
"""

# rq_fail(job_key, failed_key, job_id, now, ttl, ended_at, exc_info): leaves a job that never ran as RQ's failure
# leaves one (exc_info '' writes none). rq_mark_failed(job_key, failed_key, job_id, now, ttl): a job failing
# now, or failed before, as RQ's failure will leave it or left it: what is already there is kept.
RQ_FAIL_LUA = """
local function rq_expiry(job_key, failed_key, job_id, now, ttl)
  ttl = tonumber(ttl)
  if ttl > 0 then
    redis.call('EXPIRE', job_key, ttl)
    redis.call('ZADD', failed_key, tonumber(now) + ttl, job_id)
  else
    redis.call('ZADD', failed_key, '+inf', job_id)
  end
end
local function rq_fail(job_key, failed_key, job_id, now, ttl, ended_at, exc_info)
  redis.call('HSET', job_key, 'status', 'failed', 'ended_at', ended_at)
  if exc_info ~= '' then redis.call('HSET', job_key, 'exc_info', exc_info) end
  rq_expiry(job_key, failed_key, job_id, now, ttl)
end
local function rq_mark_failed(job_key, failed_key, job_id, now, ttl)
  redis.call('HSET', job_key, 'status', 'failed')
  if not redis.call('ZSCORE', failed_key, job_id) or redis.call('TTL', job_key) < 0 then
    rq_expiry(job_key, failed_key, job_id, now, ttl)
  end
end
"""

# rq_ended_in(registry_key, job_id): the job is in RQ's failed or finished registry. rq_reopen(job_key,
# registry_key, job_id): it leaves that registry and its hash stops expiring (it is to run again).
RQ_REOPEN_LUA = """
local function rq_ended_in(registry_key, job_id)
  return redis.call('ZSCORE', registry_key, job_id) ~= false
end
local function rq_reopen(job_key, registry_key, job_id)
  redis.call('ZREM', registry_key, job_id)
  redis.call('PERSIST', job_key)
end
"""

# rq_running(started_key, job_id): a worker holds the job (a member <job id>:<execution id>).
# rq_placed(places, job_id): the first of RQ's places that holds the job, or nil. ``places`` are the keys
# of ``RQKeys.places``: queue, intermediate list, started, scheduled, finished, failed, deferred, canceled.
RQ_PLACED_LUA = """
local function rq_running(started_key, job_id)
  local prefix = job_id .. ':'
  for _, member in ipairs(redis.call('ZRANGE', started_key, 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then return true end
  end
  return false
end
local function rq_placed(places, job_id)
  if redis.call('LPOS', places[1], job_id) then return 'queue' end
  if redis.call('LPOS', places[2], job_id) then return 'intermediate' end
  if rq_running(places[3], job_id) then return 'started' end
  local names = {'scheduled', 'finished', 'failed', 'deferred', 'canceled'}
  for i = 4, 8 do
    if redis.call('ZSCORE', places[i], job_id) then return names[i - 3] end
  end
  return nil
end
"""


@dataclass(frozen=True)
class RQKeys:
    """The keys of one RQ queue that the product's scripts read and write."""

    queue: str
    intermediate: str
    started: str
    scheduled: str
    finished: str
    failed: str
    deferred: str
    canceled: str
    queues: str
    job_prefix: str

    @classmethod
    def of(cls, queue: Queue) -> RQKeys:
        return cls(queue.key, queue.intermediate_queue_key, queue.started_job_registry.key,
                   queue.scheduled_job_registry.key, queue.finished_job_registry.key, queue.failed_job_registry.key,
                   queue.deferred_job_registry.key, queue.canceled_job_registry.key, queue.redis_queues_keys,
                   queue.job_class.redis_job_namespace_prefix)

    @property
    def places(self) -> list[str]:
        """Every place RQ keeps a job of this queue, in the order ``rq_placed`` takes them."""
        return [self.queue, self.intermediate, self.started, self.scheduled, self.finished, self.failed,
                self.deferred, self.canceled]

    def job(self, job_id: str) -> str:
        return self.job_prefix + job_id


_SAVE_IF_HELD = LuaScript("""
-- KEYS[1]: the job's hash; KEYS[2]: the started job registry. ARGV[1]: the holder's member; ARGV[2]: the field;
-- ARGV[3]: its value.
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
""")


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
        return bool(_SAVE_IF_HELD(connection, [job_key, self.registry_key], [self.member, field, value]))


def job_id_of(member: str) -> str:
    """The job id of a started registry member ``<job id>:<execution id>`` (job ids hold no colon)."""
    return member.split(":", 1)[0]


def enqueued_at_now() -> str:
    """``enqueued_at`` (or ``ended_at``) as RQ writes it, for ``rq_enqueue`` and ``rq_fail``."""
    return utcformat(rq_now())


_RELEASE_DUE = LuaScript(RQ_ENQUEUE_LUA + """
-- KEYS: scheduled registry, queue, RQ's set of queues. ARGV: now, enqueued_at, job key prefix, batch size.
-- A due job is taken out of the registry and queued in one step; one whose status is not ``scheduled``
-- is left where it is for the caller to look at, and the id of a job that is gone is dropped.
local released, odd = {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, ARGV[4])) do
  local key = ARGV[3] .. id
  local status = redis.call('HGET', key, 'status')
  if status == 'scheduled' then
    redis.call('ZREM', KEYS[1], id)
    rq_enqueue(key, KEYS[2], KEYS[3], id, ARGV[2])
    released[#released + 1] = id
  elseif not status then
    redis.call('ZREM', KEYS[1], id)
  else
    odd[#odd + 1] = id
  end
end
return {released, odd}
""")


def release_due(connection: Redis, queue: Queue, now: float | None = None) -> tuple[list[str], list[str]]:
    """Queue the jobs of ``queue``'s scheduled registry due by ``now``, each in one step with its removal from
    the registry; (the ids released, the ids due whose status is not ``scheduled``, left in the registry)."""
    keys = RQKeys.of(queue)
    now = time.time() if now is None else now
    released, odd = _RELEASE_DUE(connection, [keys.scheduled, keys.queue, keys.queues],
                                 [now, enqueued_at_now(), keys.job_prefix, RELEASE_BATCH])
    return [text(i) for i in released], [text(i) for i in odd]


def lapsed_holds(connection: Redis, queue: Queue, now: float) -> list[str]:
    """The members of ``queue``'s started registry whose hold has lapsed by ``now`` (Redis's clock)."""
    registry = queue.started_job_registry.key
    return [text(raw) for raw in connection.zrangebyscore(registry, 0, now + RQ_CLEANUP_MARGIN_SECONDS)]


_RECOVER_HOLD = LuaScript(HOLD_LEFT_LUA + RQ_ENQUEUE_LUA + """
-- KEYS: started registry, job hash, queue, RQ's set of queues. ARGV: member, now (us), job id, enqueued_at,
-- the job's meta as read, its meta with the recovery noted.
local left = hold_left_us(KEYS[1], ARGV[1], tonumber(ARGV[2]))
if not left then
  if (redis.call('HGET', KEYS[2], 'meta') or '') == ARGV[6] then return 'recovered' end
  return 'gone'
end
if left > 0 then return 'alive' end
if redis.call('HGET', KEYS[2], 'status') ~= 'started' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 'dropped'
end
if (redis.call('HGET', KEYS[2], 'meta') or '') ~= ARGV[5] then return 'changed' end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'meta', ARGV[6])
rq_enqueue(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4])
return 'recovered'
""")


def recover_hold(connection: Redis, queue: Queue, member: str, now: float, meta_read: bytes,
                 meta_recovered: bytes) -> str:
    """Give a job whose hold has lapsed to another worker: its member removed, its meta replaced (only if it is
    still ``meta_read``) and the job queued, in one step. ``recovered``; ``alive`` (the hold was renewed),
    ``gone`` (someone else took it), ``dropped`` (the job is no longer running: only the member went) or
    ``changed`` (its meta changed since it was read: read it again)."""
    keys = RQKeys.of(queue)
    job_id = job_id_of(member)
    return text(_RECOVER_HOLD(connection, [keys.started, keys.job(job_id), keys.queue, keys.queues],
                              [member, int(now * 1_000_000), job_id, enqueued_at_now(), meta_read, meta_recovered]))


def held_by_another(connection: Redis, lease: Lease) -> bool:
    """Another worker holds the job too: its member for the same job is in the started registry (the job was
    given back to the queue while this worker, frozen after taking it, had not started it)."""
    prefix = lease.job_id + ":"
    return any(member != lease.member and member.startswith(prefix)
               for member in (text(raw) for raw in connection.zrange(lease.registry_key, 0, -1)))


def drop_hold(connection: Redis | Pipeline, queue: Queue, member: str) -> None:
    """Take a member out of the started registry (its job is handled otherwise)."""
    connection.zrem(queue.started_job_registry.key, member)


_RETURN_DEQUEUED = LuaScript(RQ_PLACED_LUA + """
-- KEYS: intermediate list, queue, started registry, job hash. ARGV: job id.
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 'gone' end
if rq_running(KEYS[3], ARGV[1]) then return 'started' end
local status = redis.call('HGET', KEYS[4], 'status')
redis.call('LREM', KEYS[1], 1, ARGV[1])
if status == 'queued' then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 'requeued'
end
return status or 'missing'
""")


def dequeued_unstarted(connection: Redis, queue: Queue) -> list[str]:
    """Ids in ``queue``'s intermediate list (taken by a worker) that no worker holds yet."""
    keys = RQKeys.of(queue)
    running = {job_id_of(text(raw)) for raw in connection.zrange(keys.started, 0, -1)}
    return [job_id for job_id in (text(raw) for raw in connection.lrange(keys.intermediate, 0, -1))
            if job_id not in running]


def return_dequeued(connection: Redis, queue: Queue, job_id: str) -> str:
    """Put a job a worker took but never started back at the front of the queue, in one step: ``requeued``;
    ``gone`` or ``started`` (nothing to do); or the status of a job that is not to run (only taken off the list)."""
    keys = RQKeys.of(queue)
    return text(_RETURN_DEQUEUED(connection, [keys.intermediate, keys.queue, keys.started, keys.job(job_id)],
                                 [job_id]))


_REPAIR_ORPHAN = LuaScript(RQ_ENQUEUE_LUA + RQ_FAIL_LUA + RQ_PLACED_LUA + """
-- KEYS: job hash, the 8 places (RQKeys.places), RQ's set of queues, the job's lane ('' for none).
-- ARGV: job id, status as read, enqueued_at, now, meta as read, new meta, ttl, ended_at.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'gone' end
if status ~= ARGV[2] then return 'changed' end
local places = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]}
if rq_placed(places, ARGV[1]) then return 'placed' end
if status == 'deferred' and KEYS[11] ~= '' and redis.call('LPOS', KEYS[11], ARGV[1]) then return 'placed' end
if status == 'queued' or status == 'scheduled' then
  rq_enqueue(KEYS[1], KEYS[2], KEYS[10], ARGV[1], ARGV[3])
  return 'queued'
end
if status == 'started' or status == 'deferred' then
  if (redis.call('HGET', KEYS[1], 'meta') or '') ~= ARGV[5] then return 'changed' end
  redis.call('HSET', KEYS[1], 'meta', ARGV[6])
  if status == 'started' then
    rq_enqueue(KEYS[1], KEYS[2], KEYS[10], ARGV[1], ARGV[3])
    return 'queued'
  end
  rq_fail(KEYS[1], KEYS[7], ARGV[1], ARGV[4], ARGV[7], ARGV[8], '')
  return 'failed'
end
local registry = ({failed = KEYS[7], stopped = KEYS[7], finished = KEYS[6], canceled = KEYS[9]})[status]
if not registry then return 'left' end
local left = redis.call('TTL', KEYS[1])
if left < 0 then
  left = tonumber(ARGV[7])
  redis.call('EXPIRE', KEYS[1], left)
end
redis.call('ZADD', registry, tonumber(ARGV[4]) + left, ARGV[1])
return 'registered'
""")


def repair_orphan(connection: Redis, queue: Queue, job_id: str, status: str, lane_key: str = "", *,
                  meta_read: bytes = b"", meta_new: bytes = b"", ttl: int = 0) -> str:
    """Repair a job found in none of RQ's places (nor, waiting, in ``lane_key``), in one step that checks it still is,
    by its ``status`` as read: ``queued`` or ``scheduled``, it is queued; ``started`` (its worker's hold went
    without it being queued again), it is queued with ``meta_new``; ``deferred`` (waiting in no lane), it fails
    with ``meta_new``; ``failed``, ``finished``, ``stopped`` or ``canceled``, it goes back in its registry until
    its hash expires (or ``ttl`` from now). ``queued``, ``failed``, ``registered``; or ``placed``, ``gone``,
    ``changed`` (read it again), ``left`` (a status it does not know): nothing done."""
    keys = RQKeys.of(queue)
    now = time.time()
    return text(_REPAIR_ORPHAN(connection, [keys.job(job_id), *keys.places, keys.queues, lane_key],
                               [job_id, status, enqueued_at_now(), now, meta_read, meta_new, ttl,
                                enqueued_at_now()]))


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
