"""Where an event posts its notification: a list in Redis, one command, never an exception.

Posting costs the event one RPUSH (and nothing at all when no ``NOTIFY_URLS`` is set, or the event is not in
``NOTIFY_EVENTS``); the senders (``executor.notify.sender``), a thread in each process, deliver it. So a slow
or failing notification service never delays an answer or a trade. A notice that cannot be posted (Redis
unreachable) is logged with its text, not dropped in silence. Every known secret is masked in a notice before
it is posted.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Iterable

from redis import Redis
from redis.exceptions import RedisError

from config.observability import Observability
from executor.keyspace import key_prefix
from executor.logs import MASK

log = logging.getLogger(__name__)

#: Apprise's notification types, by how bad the news is.
FAILURE, WARNING, INFO, SUCCESS = "failure", "warning", "info", "success"


def outbox_key(queue_name: str) -> str:
    return key_prefix(queue_name) + "notify:outbox"


def outbox_length(redis: Redis, queue_name: str) -> int:
    return int(redis.llen(outbox_key(queue_name)))


@dataclass(frozen=True)
class Notice:
    """One notification: which event, a title, a plain-text body, and Apprise's type (failure, warning...)."""

    event: str
    title: str
    body: str
    kind: str = FAILURE
    at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Notice:
        data = json.loads(raw)
        return cls(**{key: str(data.get(key, "")) for key in ("event", "title", "body", "kind", "at")})

    def one_line(self) -> str:
        """Title and body on one line, for a log line."""
        return " | ".join([self.title, *(line for line in self.body.splitlines() if line.strip())])


class Outbox:
    """Posts notices for the events ``NOTIFY_EVENTS`` chooses, masking ``secrets`` in them."""

    def __init__(self, redis: Redis, queue_name: str, observability: Observability,
                 secrets: Iterable[str] = ()) -> None:
        self.redis = redis
        self.key = outbox_key(queue_name)
        self.observability = observability
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def wants(self, event: str) -> bool:
        return self.observability.notifies(event)

    def post(self, notice: Notice) -> bool:
        """Queue ``notice`` for sending if its event is wanted; True when queued. Never raises."""
        if not self.wants(notice.event):
            return False
        notice = Notice(notice.event, self.mask(notice.title), self.mask(notice.body), notice.kind,
                        notice.at or datetime.now(timezone.utc).isoformat())
        try:
            self.redis.rpush(self.key, notice.to_json())
        except RedisError as exc:
            log.error("notification not posted (Redis unavailable: %s): %s", type(exc).__name__, notice.one_line(),
                      extra={"fields": {"event": "notification_not_posted", "notice": notice.event}})
            return False
        return True

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text
