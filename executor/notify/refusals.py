"""Refused alerts, summarised at most once a minute across every web process, so a flood cannot spam.

Each refusal adds one to a count in Redis (one HINCRBY, keyed by status, reason and sender address), under
its event: ``refused`` (wrong secret, address, unrendered placeholder, bad fields) or ``stale`` (``sent_at``
older than MAX_ALERT_AGE). A web process's chores thread (``executor.background``) summarises each event:
whichever process first takes the event's minute (SET NX EX 60) takes its counts at once (one script) and
posts one notice. So the first refusal after a quiet minute is told within seconds, and a flood is told in
one message a minute. The webhook secret an alert carried never enters a reason (the reasons are
the product's own answers, and every known secret is masked in a notice anyway).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from redis import Redis
from redis.exceptions import RedisError

from executor.keyspace import key_prefix
from executor.notify.messages import refused_summary
from executor.notify.outbox import Outbox

log = logging.getLogger(__name__)

#: At most one summary per this many seconds, across every web process.
SUMMARY_EVERY_SECONDS = 60
#: A reason is cut to this many characters in a count's key.
MAX_REASON = 240

_TAKE_ALL = """
local counts = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
local since = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
return {since or false, counts}
"""


#: The events refusals are summarised under.
EVENTS = ("refused", "stale")


class Refusals:
    def __init__(self, redis: Redis, queue_name: str, outbox: Outbox) -> None:
        self.redis = redis
        self.prefix = key_prefix(queue_name) + "notify:refused:"
        self.outbox = outbox
        self._take_all = redis.register_script(_TAKE_ALL)

    def counts_key(self, event: str) -> str:
        return self.prefix + event

    def since_key(self, event: str) -> str:
        return self.prefix + event + ":since"

    def told_key(self, event: str) -> str:
        """Held for SUMMARY_EVERY_SECONDS after an event's summary: none other goes out meanwhile."""
        return self.prefix + event + ":told"

    def record(self, event: str, status: int, reason: str, address: str) -> None:
        """Count one refusal (when its event is notified at all). Never raises."""
        if not self.outbox.wants(event):
            return
        field = json.dumps([status, reason[:MAX_REASON], address], ensure_ascii=False)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(self.counts_key(event), field, 1)
                pipe.set(self.since_key(event), datetime.now(timezone.utc).isoformat(timespec="seconds"), nx=True)
                pipe.execute()
        except RedisError as exc:
            log.warning("refused alert not counted for notification (Redis: %s)", type(exc).__name__)

    def summarise(self) -> int:
        """Post each event's summary if refusals wait and none went out in the last minute; notices posted."""
        return sum(self._summarise(event) for event in EVENTS)

    def _summarise(self, event: str) -> int:
        if not self.outbox.wants(event) or not self.redis.exists(self.counts_key(event)):
            return 0
        if not self.redis.set(self.told_key(event), "1", nx=True, ex=SUMMARY_EVERY_SECONDS):
            return 0
        since, flat = self._take_all(keys=[self.counts_key(event), self.since_key(event)])
        refusals = []
        for field, count in zip(flat[::2], flat[1::2]):
            status, reason, address = json.loads(field)
            refusals.append((int(status), reason, address, int(count)))
        when = since.decode() if since else "the last minute"
        return int(self.outbox.post(refused_summary(event, refusals, when)))
