"""Delivering the outbox's notices through Apprise, from a thread of every process that has ``NOTIFY_URLS``.

A sender moves one notice at a time from the outbox to a list of its own (one atomic BLMOVE, so no two
senders take the same notice) and sends it to each URL, trying each up to ``TRIES`` times with pauses
between; then the notice leaves its list. A URL that refused every try is logged at ERROR with the notice's
whole text (never dropped in silence) and counted (``executor_notifications_total{result="failed"}``).

A sender that dies mid-notice (its process killed) leaves the notice in its list; its liveness key lapses
within ``ALIVE_SECONDS`` and any other sender puts the notice back on the outbox, to be sent again.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Callable, Protocol

from redis import Redis
from redis.exceptions import RedisError

from config.secrets import Secret
from executor.keyspace import key_prefix
from executor.metrics.catalogue import NOTIFICATIONS
from executor.metrics.store import MetricsBuffer
from executor.notify.outbox import Notice, outbox_key

log = logging.getLogger(__name__)

#: Tries per URL for one notice, and the pauses between them (seconds).
TRIES = 3
PAUSES = (2.0, 8.0)
#: How long the outbox is waited on per turn (under the Redis client's 2 s socket timeout).
BLOCK_SECONDS = 1
#: A sender whose liveness key is older than this is taken for dead; its notices go back to the outbox.
ALIVE_SECONDS = 30
#: How often a sender looks for dead senders' notices.
RECOVER_EVERY_SECONDS = 10.0


class Service(Protocol):
    """What the sender needs of an Apprise object: ``notify`` (a result that is true on success)."""

    def notify(self, body: str, title: str = ..., notify_type: str = ...) -> object: ...


def apprise_service(url: Secret) -> Service:
    """An ``Apprise`` object holding one URL, so each URL's delivery is known and retried on its own."""
    from apprise import Apprise, AppriseAsset

    service = Apprise(asset=AppriseAsset(app_id="Signal executor", app_desc="Webhook signal executor"))
    if not service.add(url.reveal()):
        raise ValueError("NOTIFY_URLS: a URL Apprise cannot send to")  # checked when the settings were read
    return service


def describe_url(number: int, url: Secret) -> str:
    """How a URL is named in a log line: its place in NOTIFY_URLS and its scheme, never its tokens."""
    return f"NOTIFY_URLS item {number} ({url.reveal().partition('://')[0]}://…)"


class _Stopping(Exception):
    """The process is stopping mid-notice: the notice stays in the sender's list for another sender."""


class NotificationSender(threading.Thread):
    def __init__(self, redis: Redis, queue_name: str, urls: tuple[Secret, ...], metrics: MetricsBuffer | None = None,
                 *, make_service: Callable[[Secret], Service] = apprise_service,
                 pauses: tuple[float, ...] = PAUSES, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name="executor-notifications", daemon=True)
        self.redis = redis
        self.outbox = outbox_key(queue_name)
        prefix = key_prefix(queue_name) + "notify:"
        self.id = uuid.uuid4().hex
        self.registry = prefix + "senders"
        self.own_list = f"{prefix}sending:{self.id}"
        self.urls = urls
        self.services = [make_service(url) for url in urls]
        self.metrics = metrics
        self.pauses = pauses
        self.clock = clock
        self.stopping = threading.Event()
        self._prefix = prefix
        self._next_recovery = 0.0

    def alive_key(self, sender_id: str) -> str:
        return f"{self._prefix}alive:{sender_id}"

    def sending_key(self, sender_id: str) -> str:
        return f"{self._prefix}sending:{sender_id}"

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.turn()
            except _Stopping:
                break
            except RedisError as exc:
                log.warning("notifications: Redis unavailable (%s); trying again", type(exc).__name__)
                self.stopping.wait(1.0)
            except Exception:  # a bug must not end deliveries for the life of the process
                log.exception("notifications: sender failed; going on")
                self.stopping.wait(1.0)
        self._leave()

    def stop(self) -> None:
        self.stopping.set()

    def turn(self) -> bool:
        """Stay registered, recover dead senders' notices now and then, and send the next notice: one this
        sender holds already (a turn cut short), else one from the outbox if it comes within BLOCK_SECONDS.
        True when one was handled."""
        self._beat()
        if self.clock() >= self._next_recovery:
            self.recover_dead_senders()
            self._next_recovery = self.clock() + RECOVER_EVERY_SECONDS
        raw = self.redis.lindex(self.own_list, 0)  # one a turn cut short left (Redis dropped mid-way)
        if raw is None:
            raw = self.redis.blmove(self.outbox, self.own_list, BLOCK_SECONDS, "LEFT", "RIGHT")
        if raw is None:
            return False
        try:
            notice = Notice.from_json(raw)
        except (ValueError, TypeError):
            log.error("notifications: an unreadable notice was set aside: %r", raw[:200])
        else:
            self.deliver(notice)
        self.redis.lrem(self.own_list, 1, raw)
        return True

    def _beat(self) -> None:
        """This sender is alive: its notices are not another sender's to recover."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.registry, self.id)
            pipe.set(self.alive_key(self.id), "1", ex=ALIVE_SECONDS)
            pipe.execute()

    def deliver(self, notice: Notice) -> None:
        for number, (url, service) in enumerate(zip(self.urls, self.services), start=1):
            delivered = self._send(service, notice)
            if self.metrics is not None:
                self.metrics.count(NOTIFICATIONS, notice.event, "delivered" if delivered else "failed")
            where = describe_url(number, url)
            if delivered:
                log.info("notification %s delivered to %s: %s", notice.event, where, notice.title,
                         extra={"fields": {"event": "notification_delivered", "notice": notice.event}})
            else:
                log.error("notification %s NOT delivered to %s after %d tries: %s", notice.event, where,
                          len(self.pauses) + 1, notice.one_line(),
                          extra={"fields": {"event": "notification_failed", "notice": notice.event}})

    def _send(self, service: Service, notice: Notice) -> bool:
        for pause in (*self.pauses, None):
            self._beat()  # a slow service must not make this sender look dead
            try:
                if service.notify(body=notice.body or notice.title, title=notice.title, notify_type=notice.kind):
                    return True
            except Exception as exc:  # a service's own bug is one failed try, not the end of the sender
                log.warning("notification %s: the service raised %s", notice.event, type(exc).__name__)
            if pause is None:
                return False
            if self.stopping.wait(pause):
                raise _Stopping()
        return False

    def recover_dead_senders(self) -> int:
        """Put back on the outbox the notices of senders whose liveness key lapsed; how many were put back."""
        recovered = 0
        for member in self.redis.smembers(self.registry):
            sender_id = member.decode()
            if sender_id == self.id or self.redis.exists(self.alive_key(sender_id)):
                continue
            while self.redis.lmove(self.sending_key(sender_id), self.outbox, "RIGHT", "LEFT") is not None:
                recovered += 1
            self.redis.srem(self.registry, sender_id)
        if recovered:
            log.warning("notifications: %d notice(s) of a sender that stopped mid-way put back to be sent",
                        recovered)
        return recovered

    def _leave(self) -> None:
        """On a clean stop: what this sender held goes back to the outbox, and it leaves the registry."""
        try:
            while self.redis.lmove(self.own_list, self.outbox, "RIGHT", "LEFT") is not None:
                pass
            self.redis.srem(self.registry, self.id)
            self.redis.delete(self.alive_key(self.id))
        except RedisError:
            pass  # its liveness key lapses; another sender recovers its notices
