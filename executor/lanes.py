"""Order per instrument: jobs of one venue, account and symbol run one at a time, in arrival order.

Each instrument has a lane, a Redis list of job ids in the order their alerts
arrived. Only the head of a lane is ever on the RQ queue; the jobs behind it
wait in RQ's ``deferred`` status. When the head finishes it leaves the lane and
puts the next job on the queue. When the head fails, the jobs already waiting
behind it are failed too, without trading: each of them was sent on the
premise that the one before it happened. Alerts arriving after the failure
start a fresh lane and run normally.
"""
from __future__ import annotations

from rq import Queue

from executor.domain import Alert
from executor.keyspace import key_prefix

# If the job is the head, pop it and return the new head (or false).
_LEAVE = """
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then
  redis.call('LREM', KEYS[1], 0, ARGV[1])
  return false
end
redis.call('LPOP', KEYS[1])
return redis.call('LINDEX', KEYS[1], 0)
"""

# If the job is the head, empty the lane and return the jobs that were waiting behind it.
_ABANDON = """
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then
  redis.call('LREM', KEYS[1], 0, ARGV[1])
  return {}
end
local behind = redis.call('LRANGE', KEYS[1], 1, -1)
redis.call('DEL', KEYS[1])
return behind
"""


def lane_of(alert: Alert) -> str:
    """``venue:account:symbol``; intake fills in the account where a venue has several."""
    account = (alert.account or "-").lower()
    return f"{alert.venue}:{account}:{alert.symbol.upper()}"


class Lanes:
    """The lanes of one RQ queue (``executor.keyspace``)."""

    def __init__(self, queue: Queue) -> None:
        self.redis = queue.connection
        prefix = key_prefix(queue.name)
        self.prefix = prefix + "lane:"
        #: Every lane that has had a job, for the sweep that recovers lanes whose head died with its worker.
        self.index_key = prefix + "lanes"
        self._leave = self.redis.register_script(_LEAVE)
        self._abandon = self.redis.register_script(_ABANDON)

    def key(self, lane: str) -> str:
        return self.prefix + lane

    def head(self, lane: str) -> str | None:
        value = self.redis.lindex(self.key(lane), 0)
        return value.decode() if value is not None else None

    def waiting(self, lane: str) -> list[str]:
        return [value.decode() for value in self.redis.lrange(self.key(lane), 0, -1)]

    def leave(self, lane: str, job_id: str) -> str | None:
        """Take a finished job out of its lane; the new head (to be enqueued) or None."""
        new_head = self._leave(keys=[self.key(lane)], args=[job_id])
        return new_head.decode() if new_head else None

    def abandon(self, lane: str, job_id: str) -> list[str]:
        """Take a failed head out and empty its lane; the ids that were waiting behind it."""
        return [value.decode() for value in self._abandon(keys=[self.key(lane)], args=[job_id])]

    def remove(self, lane: str, job_id: str) -> None:
        """Take a job out of its lane wherever it is (a replay joins the lane's end afresh)."""
        self.redis.lrem(self.key(lane), 0, job_id)

    def forget(self, lane: str) -> None:
        """Drop an empty lane from the index."""
        self.redis.srem(self.index_key, lane)

    def known_lanes(self) -> list[str]:
        return [value.decode() for value in self.redis.smembers(self.index_key)]
