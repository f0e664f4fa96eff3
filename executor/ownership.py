"""Which worker holds a running job: the job's execution in RQ's started registry, kept alive by its heartbeat.

Housekeeping gives a job to another worker once its holder's heartbeat has
lapsed (``executor.rqlayout`` says when, from the entry's score). A holder that was cut
off from Redis, or frozen, does not know it lost the job. When it comes back
it must neither act on the venue nor overwrite what the new holder wrote:

- a request that acts leaves only after the rate-limit script, in the same
  step that takes its slot, confirmed the entry is still there with at least
  ``SEND_MARGIN_SECONDS`` to run (the ``fence`` of ``RateLimiter.attempt``):
  no takeover can happen until well after the request has left;
- the job's history is written whole only while the entry is there;
  otherwise the worker only merges its own attempt's record into it. The
  in-flight record (what a request that acts is about to do) goes with the
  fence: the same script writes it, so it is in Redis before the request
  leaves at the cost of no extra round trip (``WriteBeforeActing``);
- at the job's end, a worker that no longer holds the job leaves it as it is,
  without RQ's bookkeeping (its new holder does that).

Expiry times are the holder's clock plus the heartbeat's time to live; they
are compared with Redis's clock in the fence and in housekeeping, so the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from executor.errors import ExecutorError
from executor.rqlayout import Lease

#: A request that acts leaves only while the job's hold has at least this long to run (the heartbeat
#: renews it every 3 s to 10 s): a worker frozen right after the check is still the only holder for this long.
SEND_MARGIN_SECONDS = 5.0


class LeaseLost(ExecutorError):
    """This worker no longer holds the job (or its hold is about to lapse): it sends nothing more.

    The job is left as it is; the worker that holds it now, or the one housekeeping gives it to, goes on.
    """


def lost(what: str) -> LeaseLost:
    """The error for a request (``what``) that a worker without its hold did not send."""
    return LeaseLost(f"{what}: this worker no longer holds the job (its heartbeat lapsed and the job went, or "
                     f"is going, to another worker); nothing was sent")


@dataclass(frozen=True)
class WriteBeforeActing:
    """One field of the held job's hash that must be in Redis before the next request that acts leaves.

    The fence writes it in the step that confirms the hold; ``write_alone`` makes the same write on its own,
    for a request that acts without passing the fence.
    """

    lease: Lease
    key: str
    field: str
    value: str | bytes
    write_alone: Callable[[], None] = field(repr=False, compare=False)


_held: Lease | None = None
_pending: WriteBeforeActing | None = None
_left: Lease | None = None


def hold(lease: Lease | None) -> None:
    """The job this process is running now (the worker sets it as the job starts; None when it ends)."""
    global _held, _pending, _left
    _held, _pending, _left = lease, None, None


def leave() -> None:
    """The running job stopped because this process lost its hold: its end is not this worker's to record."""
    global _left
    _left = _held


def has_left(lease: Lease) -> bool:
    """``leave`` was called while ``lease`` was held."""
    return _left is not None and _left == lease


def current() -> Lease | None:
    """The hold of the job this process is running, if a worker runs it."""
    return _held


def lease_for(job_id: str) -> Lease | None:
    """This process's hold on ``job_id``; None when the job is run outside a worker (its writes go unfenced)."""
    return _held if _held is not None and _held.job_id == job_id else None


def write_before_acting(write: WriteBeforeActing) -> None:
    """Keep ``write`` for the fence of the next request that acts (it replaces one kept before)."""
    global _pending
    _pending = write


def pending_write(fence: Lease | None) -> WriteBeforeActing | None:
    """The write kept for the job ``fence`` holds, if any."""
    return _pending if _pending is not None and fence is not None and _pending.lease == fence else None


def forget_write(write: WriteBeforeActing | None) -> None:
    """``write`` was made, or a whole write of the job made it moot, or no request will follow it."""
    global _pending
    if write is not None and _pending is write:
        _pending = None


def make_pending_write() -> None:
    """Called as a request that acts leaves: a write still kept (no fence took it) is made now, on its own."""
    write = _pending
    if write is not None:
        write.write_alone()
        forget_write(write)
