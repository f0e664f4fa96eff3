"""Jobs waiting with no live worker: told once when it starts, again every REPEAT_SECONDS while it lasts,
and once more when workers are back, whichever web process sees it (one key in Redis decides)."""
from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from executor.health import Health
from executor.keyspace import key_prefix
from executor.notify.messages import no_worker, workers_back
from executor.notify.outbox import Outbox

log = logging.getLogger(__name__)

#: While jobs keep waiting with no worker, the notification is repeated this often (seconds).
REPEAT_SECONDS = 600


class StrandedNotice:
    def __init__(self, redis: Redis, queue_name: str, outbox: Outbox) -> None:
        self.redis = redis
        self.key = key_prefix(queue_name) + "notify:stranded"
        self.outbox = outbox

    def stranded(self, seen: Health) -> None:
        """Jobs wait and no worker is live (``WaitingWatch`` saw it): tell, unless told lately."""
        if not self.outbox.wants("no_worker"):
            return
        try:
            if self.redis.set(self.key, "1", nx=True, ex=REPEAT_SECONDS):
                self.outbox.post(no_worker(seen.waiting, seen.oldest_waiting_seconds))
        except RedisError as exc:
            log.warning("no-worker notification not posted (Redis: %s)", type(exc).__name__)

    def recovered(self, seen: Health) -> None:
        """The jobs are being taken again: tell once, if the stranding was told. A process that does not
        notify this event leaves the shared key to one that does."""
        if not self.outbox.wants("no_worker"):
            return
        try:
            if self.redis.delete(self.key):
                self.outbox.post(workers_back(seen.workers))
        except RedisError as exc:
            log.warning("workers-back notification not posted (Redis: %s)", type(exc).__name__)
