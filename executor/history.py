"""A job's history: one record per attempt, saved in the job's meta so a person can read it.

The worker that holds the job writes its meta whole. Anyone else (housekeeping,
a replay, a worker that lost the job while cut off from Redis) only merges what
it adds, an event or its own attempt's record, into what is stored, so a late
writer never erases what the job's holder wrote (see ``executor.ownership``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from redis import Redis
from redis.exceptions import WatchError
from rq.job import Job

from executor import ownership
from executor.domain import ActionResult
from executor.errors import ExecutorError, VenueError
from executor.ownership import Lease

#: How an attempt that succeeded was decided: its request was answered, or the venue showed it done.
SENT = "sent"
FOUND_DONE = "found already done on the venue"
#: A target alert (``market_position``) found the position already there, and sent nothing.
ALREADY_THERE = {side: f"already {side}" for side in ("long", "short", "flat")}
SUCCESS_OUTCOMES = frozenset({SENT, FOUND_DONE, *ALREADY_THERE.values()})
#: An attempt that stopped because its worker no longer held the job: it sent nothing more.
LEFT = "left to another worker"


def error_record(exc: BaseException) -> dict[str, Any]:
    """What went wrong, in words fit for the job's record (never a secret: messages are ours or the venue's)."""
    record: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, VenueError):
        record.update(venue=exc.venue, code=exc.code, venue_message=exc.venue_message, http_status=exc.http_status)
    elif not isinstance(exc, ExecutorError):
        record["message"] = f"unexpected {type(exc).__name__}: {exc}"
    return record


def replays(job: Job | None) -> list[dict[str, Any]]:
    """Every manual replay of the job, oldest first: when, from where, forced or not."""
    return job.meta.get("replays", []) if job is not None else []


def current_run(job: Job | None) -> list[dict[str, Any]]:
    """The job's attempts since its latest replay (all of them if it was never replayed), oldest first."""
    run = len(replays(job))
    attempts = job.meta.get("attempts", []) if job is not None else []
    return [attempt for attempt in attempts if attempt.get("run", 0) == run]


def recorded_success(job: Job | None) -> dict[str, Any] | None:
    """The attempt of the job's current run that already succeeded, if any."""
    return next((attempt for attempt in reversed(current_run(job)) if attempt.get("outcome") in SUCCESS_OUTCOMES),
                None)


#: How many times a merged write is tried when the job changes under it (a WATCH conflict).
MERGE_TRIES = 20



def record_event(job: Job, event: str, message: str, **extra: Any) -> None:
    """Something that happened to the job outside an attempt (recovered, replayed), kept in its history."""
    record = {"at": datetime.now(timezone.utc).isoformat(), "event": event, "message": message, **extra}
    job.meta.setdefault("events", []).append(record)
    _merge_into_stored(job, lambda meta: meta.setdefault("events", []).append(record))


def save_held(job: Job, lease: Lease) -> bool:
    """Write the job's meta whole if ``lease`` still holds the job; False (nothing written) if not."""
    return lease.save_field(job.connection, job.key, "meta", job.serializer.dumps(job.meta))


def _merge_into_stored(job: Job, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the meta stored in Redis, not to this copy: what others wrote since it was read stays.
    A job that is gone stays gone."""
    connection: Redis = job.connection
    with connection.pipeline() as pipe:
        for _ in range(MERGE_TRIES):
            try:
                pipe.watch(job.key)
                raw = pipe.hget(job.key, "meta")
                if raw is None and not pipe.exists(job.key):
                    return
                stored = job.serializer.loads(raw) if raw else {}
                change(stored)
                pipe.multi()
                pipe.hset(job.key, "meta", job.serializer.dumps(stored))
                pipe.execute()
                return
            except WatchError:
                continue
    raise WatchError(f"job {job.id}: its meta kept changing; {MERGE_TRIES} merged writes were refused")


def _put_attempt(meta: dict[str, Any], record: dict[str, Any]) -> None:
    """Replace the stored copy of this attempt's record, or add it in the order attempts started."""
    attempts = meta.setdefault("attempts", [])
    same = [i for i, stored in enumerate(attempts)
            if (stored.get("number"), stored.get("started_at")) == (record["number"], record["started_at"])]
    if same:
        attempts[same[0]] = record
    else:
        attempts.append(record)
        attempts.sort(key=lambda stored: stored.get("started_at", ""))


class Attempt:
    """The running attempt of a job. It is the ``Journal`` an adapter notes its observations in."""

    def __init__(self, job: Job | None, clock: Callable[[], datetime] | None = None,
                 lease: Lease | None = None) -> None:
        self.job = job
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.lease = lease
        attempts = self._attempts()
        self.number = len(attempts) + 1
        self.run = len(replays(job))
        self.record: dict[str, Any] = {"number": self.number, "run": self.run, "started_at": self._now(), "notes": {}}
        attempts.append(self.record)
        if self.job is not None:
            self.job.meta.pop("deferred", None)
        # Not saved yet: the first save comes before any request that acts (``sending``) or at the
        # attempt's end, so a read on the signal path does not wait for a write it does not need.

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of this job, retries and plain replays alike; a forced replay
        (redoing a job that succeeded) gets a new one, so the venue does not take it for a duplicate."""
        if self.job is None:
            return f"unqueued-{id(self)}"
        forced = sum(1 for replay in replays(self.job) if replay.get("force"))
        return f"{self.job.id}:f{forced}" if forced else self.job.id

    def note(self, key: str, value: Any) -> None:
        """Kept with the attempt; saved with the next ``sending`` or the attempt's end."""
        self.record["notes"][key] = value

    @property
    def in_flight(self) -> dict[str, Any] | None:
        """What an earlier attempt sent without learning the outcome (answer lost, worker killed)."""
        return self.job.meta.get("in_flight") if self.job is not None else None

    def sending(self, what: dict[str, Any]) -> None:
        """In Redis before a request that acts leaves: if its outcome is lost, the next attempt reconciles first.
        In a worker, the request's fence writes it (``ownership.WriteBeforeActing``); otherwise saved now."""
        if self.job is not None:
            self.job.meta["in_flight"] = {**what, "attempt": self.number, "at": self._now()}
        if self.job is not None and self.lease is not None and self.lease == ownership.current():
            ownership.write_before_acting(ownership.WriteBeforeActing(
                self.lease, self.job.key, "meta", self.job.serializer.dumps(self.job.meta), self._save))
        else:
            self._save()

    def settled(self) -> None:
        """This attempt's request got a definite answer that did nothing: nothing of it is left to reconcile.
        An earlier attempt's unknown outcome stays (a failed read during reconciliation settles nothing);
        ``succeeded`` clears it."""
        self._forget_own_in_flight()
        self._save()

    def left(self, exc: BaseException) -> None:
        """This worker no longer holds the job, and sent nothing more; the job's status is not its to change."""
        self._forget_own_in_flight()
        self.record.update(outcome=LEFT, ended_at=self._now(), error=error_record(exc))
        self._save()

    def succeeded(self, result: ActionResult, how: str = SENT) -> None:
        """The outcome and the end of anything left to reconcile, in one write: a job never shows neither."""
        self.record.update(outcome=how, ended_at=self._now(), order_id=result.order_id, result=result.to_record())
        if self.job is not None:
            self.job.meta.pop("error", None)
            self.job.meta.pop("in_flight", None)
        self._save()

    def deferred(self, exc: BaseException, deferral: dict[str, Any], *, counts: bool) -> None:
        """Nothing was done; the job runs again at ``deferral['until']``."""
        self.record.update(outcome="deferred", ended_at=self._now(), error=error_record(exc), deferral=deferral,
                           counts_as_retry=counts)
        if self.job is not None:
            self.job.meta["deferred"] = deferral
        self._save()

    def failed(self, exc: BaseException, outcome: str = "failed") -> None:
        error = error_record(exc)
        self.record.update(outcome=outcome, ended_at=self._now(), error=error)
        if self.job is not None:
            self.job.meta["error"] = error
        self._save()

    def _forget_own_in_flight(self) -> None:
        in_flight = self.in_flight
        if self.job is not None and in_flight is not None and in_flight.get("attempt") == self.number:
            self.job.meta.pop("in_flight", None)

    def _attempts(self) -> list[dict[str, Any]]:
        if self.job is None:
            return []
        return self.job.meta.setdefault("attempts", [])

    def _now(self) -> str:
        return self.clock().isoformat()

    def _save(self) -> None:
        """The whole meta while this worker holds the job (or no worker runs it); once the job has gone to
        another worker, only this attempt's record, merged into what that worker wrote."""
        if self.job is None:
            return
        ownership.forget_write(ownership.pending_write(self.lease))  # this whole write supersedes it
        if self.lease is None:
            self.job.save_meta()
        elif not save_held(self.job, self.lease):
            _merge_into_stored(self.job, lambda meta: _put_attempt(meta, self.record))
