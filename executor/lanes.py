"""Order per instrument: jobs of one venue, account and symbol run one at a time, in arrival order.

Each instrument has a lane, a Redis list of job ids in the order their alerts
arrived. Only the head of a lane is ever on the RQ queue; the jobs behind it
wait in RQ's ``deferred`` status. When the head finishes it leaves the lane and
puts the next job on the queue. When the head fails, the jobs already waiting
behind it are failed too, without trading: each of them was sent on the
premise that the one before it happened. Alerts arriving after the failure
start a fresh lane and run normally.

Each move of a lane is one script, together with what it does to the jobs (queue the next one, fail the
ones behind), so no fault between two round trips can leave a job in no lane, queue or registry. The
scripts compose their RQ part from ``executor.rqlayout``.
"""
from __future__ import annotations

from rq import Queue

from executor.domain import Alert
from executor.keyspace import key_prefix
from executor.rqlayout import RQ_ENQUEUE_LUA, RQ_FAIL_LUA, RQ_JOB_LUA, RQKeys, enqueued_at_now
from executor.scripts import LuaScript, text

# KEYS: lane, queue, RQ's set of queues. ARGV: the job leaving, job key prefix, enqueued_at, the next job the
# caller expects ('' for none). The next job is the first one behind whose hash exists; only when it is the one
# expected (the caller has checked it can be read) does the job leave and the next one get queued.
_ADVANCE = LuaScript(RQ_JOB_LUA + RQ_ENQUEUE_LUA + """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
if ids[1] ~= ARGV[1] then
  redis.call('LREM', KEYS[1], 0, ARGV[1])
  return {'not-head', ''}
end
local skip, nxt = #ids, false
for i = 2, #ids do
  if rq_status(ARGV[2] .. ids[i]) then
    skip, nxt = i - 1, ids[i]
    break
  end
end
if (nxt or '') ~= ARGV[4] then return {'check', nxt or ''} end
redis.call('LTRIM', KEYS[1], skip, -1)
if not nxt then return {'emptied', ''} end
if rq_status(ARGV[2] .. nxt) == 'deferred' then
  rq_enqueue(ARGV[2] .. nxt, KEYS[2], KEYS[3], nxt, ARGV[3])
end
return {'queued', nxt}
""")

# KEYS: lane, failed registry. ARGV[1]: 'empty' (the lane ends) or 'remove' (only the listed jobs leave it);
# ARGV[2]: now; ARGV[3]: ended_at; ARGV[4]: the lane as read (ids joined by spaces); then six per job: id, job
# key, how (``head``: failed, ``notrun``: fails unrun with the new meta, ``damaged``: fails with the reason,
# ``leave``: only leaves), the meta as read, the new meta or the reason, ttl. Nothing is written unless the lane
# and every ``notrun`` job's meta are still as read.
_FAIL = LuaScript(RQ_JOB_LUA + RQ_FAIL_LUA + """
if table.concat(redis.call('LRANGE', KEYS[1], 0, -1), ' ') ~= ARGV[4] then return 'changed' end
for i = 5, #ARGV, 6 do
  if ARGV[i + 2] == 'notrun' and rq_meta(ARGV[i + 1]) ~= ARGV[i + 3] then
    return 'changed'
  end
end
if ARGV[1] == 'empty' then redis.call('DEL', KEYS[1]) end
for i = 5, #ARGV, 6 do
  local id, key, how, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 5]
  if ARGV[1] == 'remove' then redis.call('LREM', KEYS[1], 0, id) end
  if how == 'head' then
    rq_mark_failed(key, KEYS[2], id, ARGV[2], ttl)
  elseif how == 'notrun' then
    rq_set_meta(key, ARGV[i + 4])
    rq_fail(key, KEYS[2], id, ARGV[2], ttl, ARGV[3], '')
  elseif how == 'damaged' then
    rq_fail(key, KEYS[2], id, ARGV[2], ttl, ARGV[3], ARGV[i + 4])
  end
end
return 'done'
""")

# KEYS: lane, job hash, queue, RQ's set of queues. ARGV: job id, enqueued_at. A lane head still waiting is queued.
_QUEUE_HEAD = LuaScript(RQ_JOB_LUA + RQ_ENQUEUE_LUA + """
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 'not-head' end
local status = rq_status(KEYS[2])
if status ~= 'deferred' then return status or 'missing' end
rq_enqueue(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])
return 'queued'
""")

# KEYS: lane, index of lanes. ARGV: lane. An empty lane leaves the index (not one a job joined meanwhile).
_FORGET = LuaScript("""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('SREM', KEYS[2], ARGV[1])
""")


def lane_of(alert: Alert) -> str:
    """``venue:account:symbol``; intake fills in the account where a venue has several."""
    account = (alert.account or "-").lower()
    return f"{alert.venue}:{account}:{alert.symbol.upper()}"


#: One job for ``Lanes.fail``: id, how (``head``, ``notrun``, ``damaged``, ``leave``), meta as read, new meta or
#: the reason it cannot be read, and how long it stays in Redis.
Failing = tuple[str, str, bytes, bytes | str, int]


class Lanes:
    """The lanes of one RQ queue (``executor.keyspace``)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.redis = queue.connection
        self.rq = RQKeys.of(queue)
        prefix = key_prefix(queue.name)
        self.prefix = prefix + "lane:"
        #: Every lane that has had a job, for the sweep that recovers lanes whose head died with its worker.
        self.index_key = prefix + "lanes"

    def key(self, lane: str) -> str:
        return self.prefix + lane

    def head(self, lane: str) -> str | None:
        value = self.redis.lindex(self.key(lane), 0)
        return value.decode() if value is not None else None

    def waiting(self, lane: str) -> list[str]:
        return [value.decode() for value in self.redis.lrange(self.key(lane), 0, -1)]

    def advance(self, lane: str, job_id: str, expected_next: str) -> tuple[str, str]:
        """Take a finished job out of its lane and queue the next one, in one step, if the next one is
        ``expected_next`` ('' for none). (``queued``, id), (``emptied``, ''), (``not-head``, ''): done;
        (``check``, id): nothing done, the next one is ``id``."""
        outcome, next_id = _ADVANCE(self.redis, [self.key(lane), self.rq.queue, self.rq.queues],
                                    [job_id, self.rq.job_prefix, enqueued_at_now(), expected_next])
        return text(outcome), text(next_id)

    def fail(self, lane: str, read: list[str], failing: list[Failing], *, empty: bool, now: float) -> bool:
        """Fail jobs of a lane in one step, the lane emptied (or, not ``empty``, only those jobs taken out);
        False, with nothing written, when the lane is no longer ``read`` or a job's meta changed."""
        args: list[object] = ["empty" if empty else "remove", now, enqueued_at_now(), " ".join(read)]
        for job_id, how, meta_read, new, ttl in failing:
            args += [job_id, self.rq.job(job_id), how, meta_read, new, ttl]
        return text(_FAIL(self.redis, [self.key(lane), self.rq.failed], args)) == "done"

    def queue_head(self, lane: str, job_id: str) -> str:
        """Queue the lane's head if it is still waiting: ``queued``, ``not-head``, or the status it has."""
        return text(_QUEUE_HEAD(self.redis, [self.key(lane), self.rq.job(job_id), self.rq.queue, self.rq.queues],
                                [job_id, enqueued_at_now()]))

    def forget(self, lane: str) -> None:
        """Drop an empty lane from the index (a lane a job has joined meanwhile stays)."""
        _FORGET(self.redis, [self.key(lane), self.index_key], [lane])

    def known_lanes(self) -> list[str]:
        return [value.decode() for value in self.redis.smembers(self.index_key)]
