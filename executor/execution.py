"""Performing one job: the checks before it, the action, and what the outcome means for the job and its lane.

Outcomes:
- done: the job finishes with the venue's answer; the next job of its lane is queued.
- outcome unknown (answer lost after sending, 5xx, worker killed mid-request):
  the job is rescheduled, and its next attempt first reads the venue's state to
  decide whether the action happened; it never sends again blindly.
- retry later (nothing was done): the job is rescheduled through RQ's scheduler,
  to the end of the funding window, after the rate-limit wait, or after an
  exponential backoff with jitter; it keeps the head of its lane meanwhile.
- anything else (rejected, outcome unknown, stale, a bug): the job fails with a
  readable error, and the jobs already waiting behind it in its lane fail unrun.
- this worker no longer holds the job (cut off from Redis past its heartbeat,
  see ``executor.ownership``): it sends nothing more, records its attempt and
  leaves the job, its status and its lane to the worker that holds it now.
- Redis unavailable mid-job (after the client's own retries): nothing can be
  recorded, so the job is not failed; it is left as it is, and housekeeping
  queues it again once its hold lapses, to be reconciled with the venue first.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job

from config.settings import Settings
from executor import ownership
from executor.domain import Alert
from executor.domain import ActionResult
from executor.errors import (FundingRejected, JobFailed, OutcomeUnknown, RateLimited, RetryLater, StaleAlert,
                             VenueRejected)
from executor.funding import FUNDING_REJECTION_MARGIN, clear_of_funding, near_funding
from executor.joblife import JobLife
from executor.history import (FOUND_DONE, SENT, Attempt, current_run, error_record, record_event, recorded_success,
                              replays)
from executor.lanemoves import advance_lane, fail_waiting_behind
from executor.ratelimit import RateLimiter, RateLimitWait, backoff
from executor.sendguard import SendGuard
from executor.target import act_toward_target, reconciling_alert
from executor.venues import get_venue
from executor.venues.spec import VenueAdapter

log = logging.getLogger(__name__)

NOT_DONE = "not done on the venue: sending again"
#: RQ counts our reschedules as retries; our own policy decides when to stop, so RQ's cap is never reached.
RQ_RETRY_CAP = 1_000_000
#: Reasons for a reschedule that are waiting, not failing: they do not use up RETRY_MAX_ATTEMPTS.
WAITING_REASONS = frozenset({"funding", "rate_limit_wait"})
#: After a venue's funding rejection on a venue with no schedule: it advises waiting at least a minute.
VENUE_FUNDING_PAUSE = timedelta(seconds=60)
#: How long the outcome of a request the venue performed is retried against a Redis that dropped (JOB_TIMEOUT is 45).
RECORD_PATIENCE_SECONDS = 20


@dataclass(frozen=True)
class Deferral:
    until: datetime
    reason: str
    message: str

    def to_record(self) -> dict[str, str]:
        return {"until": self.until.isoformat(), "reason": self.reason, "message": self.message}


class JobRunner:
    """Everything a worker needs to perform jobs; one per process."""

    def __init__(self, settings: Settings, queue: Queue, limiter: RateLimiter, guard: SendGuard,
                 adapter_for: Callable[[str, str | None], VenueAdapter], clock: Callable[[], datetime],
                 life: JobLife | None = None) -> None:
        self.settings = settings
        #: Tells each event of a job: log line, counts, notification (``executor.joblife``).
        self.life = life or JobLife()
        self.queue = queue
        self.limiter = limiter
        self.guard = guard
        self.adapter_for = adapter_for
        self.clock = clock

    def run(self, job: Job | None, payload: dict[str, Any]) -> dict[str, Any] | Retry:
        try:
            return self._run(job, payload)
        except RedisError as exc:  # Redis away mid-job: nothing can be recorded; housekeeping recovers the job
            ownership.leave()  # once its hold lapses, and its next run reconciles with the venue first
            log.warning("job %s: Redis unavailable mid-job (%s); left to be recovered and reconciled",
                        job.id if job is not None else "-", type(exc).__name__)
            self.life.told(job)  # an outage, not a bug: no traceback from RQ
            raise

    def _run(self, job: Job | None, payload: dict[str, Any]) -> dict[str, Any] | Retry:
        done = recorded_success(job)
        if done is not None:  # its worker recorded success, then lost the job (stalled or killed) before closing it
            record_event(job, "already done", f"attempt {done['number']} had succeeded ({done['outcome']}); "
                                              f"not sent again")
            self.life.already_done(job, done)
            self._release_lane(job, payload)
            return done.get("result") or {"order_id": done.get("order_id")}
        alert = Alert.from_job(payload["alert"])
        attempt = Attempt(job, self.clock, ownership.lease_for(job.id) if job is not None else None)
        self.life.started(attempt)
        try:
            return self._attempt(job, payload, alert, attempt)
        finally:
            self.life.ended(job, attempt)

    def _attempt(self, job: Job | None, payload: dict[str, Any], alert: Alert,
                 attempt: Attempt) -> dict[str, Any] | Retry:
        try:
            adapter = self.adapter_for(alert.venue, alert.account)
            reconciled = self._reconciled(adapter, alert, attempt)  # a read: done even for a stale alert
            if reconciled is None:
                self._check_before_start(job, payload, alert)
            result, how = reconciled or _perform(adapter, alert, attempt)
        except ownership.LeaseLost as exc:
            ownership.leave()
            attempt.left(exc)
            self.life.left(job, exc)
            raise
        except RedisError:
            raise  # not the job's failure (see run)
        except OutcomeUnknown as exc:  # the in-flight record stays: the next attempt reconciles first
            return self._defer_or_fail(job, payload, alert, attempt, exc)
        except RetryLater as exc:
            attempt.settled()
            return self._defer_or_fail(job, payload, alert, attempt, exc)
        except VenueRejected as exc:
            attempt.settled()
            if self._rejected_near_funding(alert.venue, exc):
                return self._defer_or_fail(job, payload, alert, attempt, _as_funding(exc))
            self._fail(job, payload, attempt, exc)
            raise
        except BaseException as exc:
            if isinstance(exc, JobFailed):
                attempt.settled()
            self._fail(job, payload, attempt, exc)
            raise
        _until_written(lambda: attempt.succeeded(result, how))  # the venue acted: the job must say so
        self.life.succeeded(job, alert, attempt, result, how)
        _until_written(lambda: self._release_lane(job, payload))
        return result.to_record()

    def _reconciled(self, adapter: VenueAdapter, alert: Alert, attempt: Attempt) -> tuple[ActionResult, str] | None:
        """When an earlier attempt's outcome was lost, ask the venue before sending anything again."""
        in_flight = attempt.in_flight
        if in_flight is None:
            return None
        found = adapter.reconcile(reconciling_alert(alert, in_flight), in_flight)
        verdict = FOUND_DONE if found else NOT_DONE
        attempt.note("reconciliation", verdict)
        self.life.reconciled(verdict)
        return (found, FOUND_DONE) if found is not None else None

    def _check_before_start(self, job: Job | None, payload: dict[str, Any], alert: Alert) -> None:
        now = self.clock()
        waited = now - _signal_time(job, payload)
        limit = self.settings.max_execution_delay
        if waited > timedelta(seconds=limit):
            raise StaleAlert(f"the alert arrived {int(waited.total_seconds())} s ago, more than "
                             f"MAX_EXECUTION_DELAY ({limit} s); not trading on an old signal")
        self.guard.refuse_inside_funding(alert.venue)

    def _rejected_near_funding(self, venue: str, exc: VenueRejected) -> bool:
        """An undocumented rejection close to a funding time is taken for the (undocumented) funding error."""
        schedule = self.settings.funding.get(venue)
        if exc.documented or schedule is None or schedule.empty:
            return False
        return near_funding(schedule, self.clock(), FUNDING_REJECTION_MARGIN)

    def _defer_or_fail(self, job: Job | None, payload: dict[str, Any], alert: Alert, attempt: Attempt,
                       exc: RetryLater | OutcomeUnknown) -> Retry:
        deferral = self._deferral_for(alert, exc, attempt.number)
        deadline = _signal_time(job, payload) + timedelta(seconds=self.settings.max_execution_delay)
        problem = None
        if deferral.until > deadline and not isinstance(exc, OutcomeUnknown):  # reconciling is only a read
            problem = StaleAlert(f"{deferral.message}; the next try at {deferral.until.isoformat()} would be "
                                 f"after MAX_EXECUTION_DELAY ({self.settings.max_execution_delay} s)")
        elif self._retries_used(job) >= self.settings.retry.max_attempts:
            problem = JobFailed(f"gave up after {self.settings.retry.max_attempts} tries; last: {exc}")
        if problem is not None:
            self._fail(job, payload, attempt, problem)
            raise problem from exc
        counts = deferral.reason not in WAITING_REASONS
        attempt.deferred(exc, deferral.to_record(), counts=counts)
        retries_left = self.settings.retry.max_attempts - self._retries_used(job)
        self.life.deferred(job, deferral.to_record(), retries_left, counts)
        seconds = max(0.0, (deferral.until - self.clock()).total_seconds())
        return Retry(max=RQ_RETRY_CAP, interval=[seconds])

    def _deferral_for(self, alert: Alert, exc: RetryLater | OutcomeUnknown, attempt_number: int) -> Deferral:
        now = self.clock()
        policy = self.settings.retry
        if isinstance(exc, FundingRejected):
            return Deferral(exc.until or self._after_venue_funding(alert.venue, now), "funding", str(exc))
        if isinstance(exc, RateLimitWait):
            return Deferral(now + timedelta(seconds=exc.retry_after or 0), "rate_limit_wait", exc.venue_message)
        pause = backoff(max(0, attempt_number - 1), policy.base_seconds, policy.max_seconds)
        if isinstance(exc, OutcomeUnknown):
            return Deferral(now + timedelta(seconds=pause), "outcome_unknown", f"{exc}; the next try reconciles first")
        pause = max(pause, exc.retry_after or 0)
        if isinstance(exc, RateLimited):
            spec = get_venue(alert.venue)
            self.limiter.penalise(alert.venue, spec.metered_credential(self.settings, alert.account), pause)
        return Deferral(now + timedelta(seconds=pause), exc.reason, str(exc))

    def _after_venue_funding(self, venue: str, now: datetime) -> datetime:
        """The venue itself said "funding": wait its guard band from now, and past any window."""
        schedule = self.settings.funding.get(venue)
        if schedule is None or schedule.empty:
            return now + VENUE_FUNDING_PAUSE
        return clear_of_funding(venue, schedule, now + schedule.guard_after)

    @staticmethod
    def _retries_used(job: Job | None) -> int:
        """Retries since the job's last replay: a replay starts with a fresh allowance."""
        return sum(1 for attempt in current_run(job) if attempt.get("counts_as_retry"))

    def _fail(self, job: Job | None, payload: dict[str, Any], attempt: Attempt, exc: BaseException) -> None:
        attempt.failed(exc)
        self.life.failed(job, alert_of(payload), exc, in_flight=attempt.in_flight is not None)
        if job is None or not _still_held(job):
            return
        fail_waiting_behind(self.queue, payload["lane"], job.id, f" ({error_record(exc)['message']})")

    def _release_lane(self, job: Job | None, payload: dict[str, Any]) -> None:
        if job is None:
            return
        advance_lane(self.queue, payload["lane"], job.id)


def _perform(adapter: VenueAdapter, alert: Alert, attempt: Attempt) -> tuple[ActionResult, str]:
    """The alert's action, or for a target alert (``market_position``) whatever brings the position there."""
    if alert.market_position is not None:
        return act_toward_target(adapter, alert, attempt)
    return adapter.perform(alert, attempt), SENT


def _until_written(write: Callable[[], None]) -> None:
    """Repeat a write that is safe to repeat while Redis is unreachable, for up to RECORD_PATIENCE_SECONDS."""
    deadline, pause = time.monotonic() + RECORD_PATIENCE_SECONDS, 0.05
    while True:
        try:
            return write()
        except RedisError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _still_held(job: Job) -> bool:
    """False once the job has gone to another worker: its lane is that worker's to move on."""
    lease = ownership.lease_for(job.id)
    return lease is None or lease.held(job.connection)


def _signal_time(job: Job | None, payload: dict[str, Any]) -> datetime:
    """When the signal was given: the alert's arrival, or the operator's latest replay of it."""
    latest = replays(job)[-1:] if job is not None else []
    return datetime.fromisoformat(latest[0]["at"] if latest else payload["received_at"])


def alert_of(payload: dict[str, Any]) -> Alert | None:
    """The job's alert, or None when the payload cannot give one (a job damaged by hand)."""
    try:
        return Alert.from_job(payload["alert"])
    except Exception:
        return None


def _as_funding(exc: VenueRejected) -> FundingRejected:
    return FundingRejected(exc.venue, exc.code, f"{exc.venue_message} (near a funding time: taken for a funding "
                                                f"rejection)", http_status=exc.http_status, reason="funding")
