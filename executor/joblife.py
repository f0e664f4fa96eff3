"""A job's life in a worker, told once per event: a log line, its counts, and a notification where a person
should know.

Each line carries the job id (``executor.logs``), so ``grep <job id>`` tells the story: ``deferred`` (reason,
until, retries left), ``sent`` and the venue's answer (``executor.venues.observed``), ``reconciled``
(verdict), ``answered`` (order id, side, size), ``finished``, or ``failed`` (reason, the venue's code). A
failure the product expects (a rejection, no position, a stale signal: a ``JobFailed``) is one line without a
traceback; RQ's own lines about a job whose end is told here are left out (``executor.rqlogs``). A bug's
traceback stays, from RQ.
"""
from __future__ import annotations

import logging
from typing import Any

from rq.job import Job

from executor import rqlogs, stagetimes
from executor.domain import ActionResult, Alert
from executor.errors import JobFailed, StaleAlert
from executor.history import ALREADY_THERE, FOUND_DONE, SENT, Attempt, error_record
from executor.metrics.catalogue import DEFERRALS, JOBS, QUEUE_WAIT, STAGE_SECONDS, START_TO_FIRST_REQUEST, \
    VENUE_ANSWER
from executor.metrics.store import MetricsBuffer
from executor.notify import messages
from executor.notify.outbox import Outbox
from executor.ownership import LeaseLost

log = logging.getLogger(__name__)

#: How each way a job can succeed is counted (``executor_jobs_total{outcome}``).
SUCCESS_OUTCOMES = {SENT: "finished", FOUND_DONE: "found_done", **{word: "already_there"
                                                                  for word in ALREADY_THERE.values()}}


def action_label(alert: Alert) -> str:
    """``reverse``, ``close``, or ``to_long``/``to_short``/``to_flat`` for a target alert."""
    return alert.action or f"to_{alert.market_position}"


def _job_id(job: Job | None) -> str | None:
    return job.id if job is not None else None


class JobLife:
    """Tells a worker's job events; every part is optional (a test's runner may have neither)."""

    def __init__(self, metrics: MetricsBuffer | None = None, outbox: Outbox | None = None) -> None:
        self.metrics = metrics
        self.outbox = outbox

    def started(self, attempt: Attempt) -> None:
        stagetimes.follow(attempt.record["timings"], attempt.clock)

    def ended(self, job: Job | None, attempt: Attempt) -> None:
        """The attempt is over, however it ended: its stages go to the histogram."""
        stagetimes.forget()
        timings = attempt.record["timings"]
        if self.metrics is None:
            return
        spans = {QUEUE_WAIT: stagetimes.seconds_between(job.enqueued_at if job is not None else None,
                                                        timings["started_at"]),
                 START_TO_FIRST_REQUEST: stagetimes.seconds_between(timings["started_at"], timings["first_request_at"]),
                 VENUE_ANSWER: stagetimes.seconds_between(timings["first_request_at"], timings["answered_at"])}
        for stage, seconds in spans.items():
            if seconds is not None:
                self.metrics.observe(STAGE_SECONDS, seconds, stage)

    def reconciled(self, verdict: str) -> None:
        log.info("reconciled: %s", verdict, extra={"fields": {"event": "reconciled", "verdict": verdict}})

    def already_done(self, job: Job | None, attempt: dict[str, Any]) -> None:
        log.info("finished: attempt %s had already succeeded (%s); not sent again", attempt.get("number"),
                 attempt.get("outcome"), extra={"fields": {"event": "finished", "outcome": "already done"}})
        self._concluded(job)

    def deferred(self, job: Job | None, deferral: dict[str, str], retries_left: int, counts: bool) -> None:
        left = f"{retries_left} retr{'y' if retries_left == 1 else 'ies'} left" + ("" if counts else
                                                                                  " (a wait: not a retry)")
        log.info("deferred: %s until %s: %s; %s", deferral["reason"], deferral["until"], deferral["message"], left,
                 extra={"fields": {"event": "deferred", "reason": deferral["reason"], "until": deferral["until"],
                                   "retries_left": retries_left}})
        if self.metrics is not None:
            self.metrics.count(DEFERRALS, deferral["reason"])
        self._concluded(job)

    def succeeded(self, job: Job | None, alert: Alert, attempt: Attempt, result: ActionResult, how: str) -> None:
        words = _what_was_done(alert, result, attempt.record["notes"])
        if how == SENT and result.action is not None:
            log.info("answered: order %s; %s", result.order_id or "-", words["text"],
                     extra={"fields": {"event": "answered", "order_id": result.order_id, "side": words["side"],
                                       "size": words["size"]}})
        log.info("finished: %s%s", how, f" (order {result.order_id})" if result.order_id else "",
                 extra={"fields": {"event": "finished", "outcome": how, "order_id": result.order_id}})
        self._count(alert, SUCCESS_OUTCOMES.get(how, "finished"))
        self._concluded(job)

    def left(self, job: Job | None, exc: LeaseLost) -> None:
        log.warning("left to another worker: %s", exc, extra={"fields": {"event": "left"}})
        self._count_unknown_alert(job, "left")
        self._concluded(job)

    def failed(self, job: Job | None, alert: Alert | None, exc: BaseException, *, in_flight: bool) -> None:
        """One line; a notification; RQ's traceback left out unless this is a bug."""
        error = error_record(exc)
        expected = isinstance(exc, JobFailed)
        outcome = "stale" if isinstance(exc, StaleAlert) else "needs_attention" if in_flight else "failed"
        code = f" [venue's code {error['code']}]" if error.get("code") is not None else ""
        replay = f"; replay: executor jobs replay {job.id}" if job is not None else ""
        (log.warning if expected else log.error)(
            "failed%s: %s: %s%s%s%s", "" if outcome == "failed" else f" ({outcome.replace('_', ' ')})",
            error["type"], error["message"], code, replay, "" if expected else " (a bug: its traceback follows)",
            extra={"fields": {"event": "failed", "outcome": outcome, "error": error["type"],
                              "code": error.get("code")}})
        if alert is not None:
            self._count(alert, outcome)
            self._notify(job, alert, error, outcome)
        if expected:
            self._concluded(job)

    def _notify(self, job: Job | None, alert: Alert, error: dict[str, Any], outcome: str) -> None:
        if self.outbox is None or job is None:
            return
        build = {"stale": messages.stale_job, "needs_attention": messages.needs_attention}.get(
            outcome, messages.job_failed)
        self.outbox.post(build(job.id, alert, error))

    def _count(self, alert: Alert, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.count(JOBS, alert.venue, action_label(alert), outcome)

    def _count_unknown_alert(self, job: Job | None, outcome: str) -> None:
        payload = job.args[0] if job is not None and job.args else {}
        if isinstance(payload, dict) and isinstance(payload.get("alert"), dict):
            self._count(Alert.from_job(payload["alert"]), outcome)

    @staticmethod
    def _concluded(job: Job | None) -> None:
        if job is not None:
            rqlogs.concluded(job.id)

    def told(self, job: Job | None) -> None:
        """The job's end in this run was told in a line of the caller's: RQ's lines about it are left out."""
        self._concluded(job)


_SIZE_KEYS = ("size", "close_num", "quantity", "from_size", "open_size")
_SIDE_KEYS = ("from_side", "hold_side")


def _what_was_done(alert: Alert, result: ActionResult, notes: dict[str, Any]) -> dict[str, Any]:
    """The action, the side of the position it acted on and the size, in words and as fields."""
    detail, before = result.detail, notes.get("position_before") or {}
    side = next((detail[key] for key in _SIDE_KEYS if detail.get(key)), None) or before.get("side") \
        or detail.get("side")
    size = next((str(detail[key]) for key in _SIZE_KEYS if detail.get(key) not in (None, "")), None)
    ratio = detail.get("close_rate") or detail.get("ratio") or detail.get("percent")
    if size is None and ratio is not None:
        size = f"{ratio} of {before.get('size', 'the position')}"
    text = f"{result.action} {side or '?'} {size or before.get('size') or '?'} {alert.symbol}"
    return {"text": text, "side": side, "size": size or before.get("size")}
