"""The product's RQ queue: RQ's own, except that a job whose stored data is damaged fails instead of
stopping the worker that meets it."""
from __future__ import annotations

import logging
import time
from typing import Any, Iterable

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DequeueTimeout
from rq.job import Job
from rq.serializers import JSONSerializer

from config.settings import Settings
from executor.jobview import UnreadableJob, reading
from executor.rqlayout import fail_unreadable_fields

log = logging.getLogger(__name__)

#: How long a job whose stored data is damaged stays in Redis, failed (its own retention cannot be read).
DAMAGED_JOB_RETENTION_SECONDS = 7 * 24 * 3600


class AlertQueue(Queue):
    """A queue of alert jobs (RQ's ``Queue``, by RQ's documented custom queue class)."""

    #: The job this process took off the queue last, and when (monotonic): a worker that starts it within a
    #: moment of taking it cannot have been given it back meanwhile (``workers.worker``).
    last_taken: tuple[str, float] | None = None

    @classmethod
    def dequeue_any(cls, queues: Iterable[Queue], timeout: int | None, connection: Redis,
                    job_class: type[Job] | None = None, serializer: Any = None,
                    death_penalty_class: Any = None) -> tuple[Job, Queue] | None:
        """RQ's dequeue; a job it cannot read is failed, saying why, and the next one is taken.
        RQ's own would raise, and its worker stop for good."""
        while True:
            try:
                taken = super().dequeue_any(queues, timeout, connection, job_class=job_class, serializer=serializer,
                                            death_penalty_class=death_penalty_class)
                if taken is not None:
                    AlertQueue.last_taken = (taken[0].id, time.monotonic())
                    with reading(taken[0].id):
                        taken[0].args  # noqa: B018  RQ reads the alert lazily: damage shows now, not mid-job
                return taken
            except (RedisError, DequeueTimeout):
                raise
            except UnreadableJob as exc:
                cls._set_aside(taken[1], exc)
            except Exception as exc:  # RQ names the job and queue it could not load on its error
                queue, job_id = getattr(exc, "queue", None), getattr(exc, "job_id", None)
                if not isinstance(queue, Queue) or not job_id:
                    raise
                cls._set_aside(queue, UnreadableJob(job_id, exc))

    @staticmethod
    def _set_aside(queue: Queue, exc: UnreadableJob) -> None:
        log.error("%s; failed without running", exc)
        fail_unreadable(queue, exc)
        queue.intermediate_queue.remove(exc.job_id)


def make_queue(connection: Redis, settings: Settings) -> AlertQueue:
    return AlertQueue(settings.queue_name, connection=connection, serializer=JSONSerializer)


def fail_unreadable(queue: Queue, exc: UnreadableJob, pipe: Pipeline | None = None) -> None:
    """Fail a job whose stored data cannot be read (it can never run), saying why in its ``exc_info``.
    With ``pipe``, the caller executes."""
    writes = pipe if pipe is not None else queue.connection.pipeline()
    fail_unreadable_fields(writes, queue, exc.job_id, str(exc), DAMAGED_JOB_RETENTION_SECONDS)
    if pipe is None:
        writes.execute()
