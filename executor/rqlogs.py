"""RQ's own lines about a job, where the product has already told that job's end in its own words.

RQ logs every job that raises with its whole traceback, a job the product reschedules as "N remaining" out
of the product's ``Retry(max=1_000_000)`` (the product enforces ``RETRY_MAX_ATTEMPTS`` itself), and a job
that finished in three lines that name neither its side, its size nor its order id. The product logs each
of those events once, in full (``executor.joblife``): a failure it expects (a rejection, no position, a
stale signal) in one line without a traceback, a reschedule with the real number of retries left.

So once the product has told a job's end (``concluded``), a filter on RQ's loggers drops RQ's records about
that job (naming it, or logged while it runs) until the job's run is over (``job_over``): records below
ERROR, and RQ's "exception raised while executing" record with its traceback (it carries the job id as
``extra``). Anything the product did not tell
(a bug's traceback, RQ's own errors writing a job) passes. These are logging filters on RQ's public
loggers: nothing of RQ is copied or changed, and ``tests/test_logs.py`` fails when RQ words a job's lines in
a way the filter no longer recognises.
"""
from __future__ import annotations

import logging

from executor import logs

#: The loggers RQ writes its job lines to.
RQ_LOGGERS = ("rq.worker", "rq.job", "rq.queue")

_concluded: str | None = None


def concluded(job_id: str) -> None:
    """The product has logged this job's end (finished, failed as expected, deferred, left to another)."""
    global _concluded
    _concluded = job_id


def job_over() -> None:
    """The job's run is over: RQ's lines about the next run of any job pass again."""
    global _concluded
    _concluded = None


class AlreadyTold(logging.Filter):
    """Drops RQ's records about the job whose end the product has logged; see the module docstring."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = _concluded
        if job_id is None:
            return True
        about = getattr(record, "job_id", None) == job_id or logs.current_job() == job_id  # logged mid-job
        if not about and isinstance(record.args, tuple):
            about = job_id in record.args
        if not about:
            return True
        return record.levelno >= logging.ERROR and getattr(record, "job_id", None) != job_id


_FILTER = AlreadyTold()


def install() -> None:
    """Put the filter on RQ's loggers (once)."""
    for name in RQ_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
