"""Every metric the product exposes, declared once: name, kind, meaning, labels, buckets.

Counters and histograms are counted in Redis by every process (``CATALOGUE``); the gauges (queue depth,
deferred jobs, live workers...) are read from Redis when ``GET /metrics`` is scraped (``GAUGES``).
"""
from __future__ import annotations

from dataclasses import dataclass

COUNTER = "counter"
HISTOGRAM = "histogram"
GAUGE = "gauge"

#: Stages of a job's way from the webhook to the venue's answer (``executor_stage_seconds{stage}``).
INTAKE = "intake"
QUEUE_WAIT = "queue_wait"
START_TO_FIRST_REQUEST = "start_to_first_request"
VENUE_ANSWER = "venue_answer"
STAGES = (INTAKE, QUEUE_WAIT, START_TO_FIRST_REQUEST, VENUE_ANSWER)

#: Outcomes of a webhook request (``executor_alerts_total{outcome}``), by HTTP answer.
ALERT_OUTCOMES = ("accepted", "duplicate", "invalid", "stale", "unauthorized", "forbidden", "too_large",
                  "locked_out", "unavailable", "error")

#: Seconds, from well under a millisecond (a stage of the signal path) to minutes (a queue without workers).
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                 60.0, 300.0)
#: Seconds a request waited for its rate-limit slot: most wait none; at most RATE_LIMIT_MAX_WAIT (2 s) waits.
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


ALERTS = Metric(
    "executor_alerts_total", COUNTER,
    "Webhook requests, by outcome: accepted (202), duplicate (200), invalid (400), stale (400: sent_at older "
    "than MAX_ALERT_AGE), unauthorized (401), forbidden (403), too_large (413), locked_out (429: too many wrong "
    "secrets from the address), unavailable (503), error.",
    ("outcome",))
JOBS = Metric(
    "executor_jobs_total", COUNTER,
    "Job runs that ended, by venue, action (reverse, close, to_long, to_short, to_flat) and outcome: finished "
    "(the venue answered), found_done (reconciled: already done on the venue), already_there (a target "
    "position already held), failed, stale, needs_attention (failed while the venue could not tell whether "
    "the action happened), left (to another worker).",
    ("venue", "action", "outcome"))
STAGE_SECONDS = Metric(
    "executor_stage_seconds", HISTOGRAM,
    "Seconds spent per stage: intake (alert received to job on Redis), queue_wait (queued to started by a "
    "worker), start_to_first_request (started to its first venue request leaving), venue_answer (first venue "
    "request leaving to the venue's answer to the last).",
    ("stage",), STAGE_BUCKETS)
VENUE_REQUESTS = Metric(
    "executor_venue_requests_total", COUNTER,
    "Requests sent to a venue, by venue, endpoint and result: ok (HTTP 2xx; a venue's refusal inside a 200 "
    "counts in executor_jobs_total), client_error (4xx), rate_limited (429), server_error (5xx), other (a "
    "redirect, never followed), no_answer (could not connect, timed out, connection broken).",
    ("venue", "endpoint", "result"))
DEFERRALS = Metric(
    "executor_deferrals_total", COUNTER,
    "Jobs rescheduled to a later time, by reason: funding, rate_limit_wait (our own limiter), rate_limit (the "
    "venue's 429), outcome_unknown (reconcile first), connection, venue_error, retry...",
    ("reason",))
RATE_LIMIT_WAIT = Metric(
    "executor_rate_limit_wait_seconds", HISTOGRAM,
    "Seconds each venue request waited for its slot in the shared rate limiter.",
    (), WAIT_BUCKETS)
NOTIFICATIONS = Metric(
    "executor_notifications_total", COUNTER,
    "Notifications per event and result: delivered, or failed (every try of one service refused it).",
    ("event", "result"))

CATALOGUE = (ALERTS, JOBS, STAGE_SECONDS, VENUE_REQUESTS, DEFERRALS, RATE_LIMIT_WAIT, NOTIFICATIONS)

QUEUE_DEPTH = Metric("executor_queue_depth", GAUGE, "Jobs on the queue, waiting for a worker to take them.")
DEFERRED_JOBS = Metric(
    "executor_deferred_jobs", GAUGE,
    "Jobs waiting for a later time: scheduled (a funding window, a rate-limit slot, a backoff) or order (behind "
    "the job ahead of them on their instrument).", ("kind",))
LIVE_WORKERS = Metric("executor_live_workers", GAUGE, "Workers of this queue whose heartbeat is fresh.")
OLDEST_WAITING = Metric("executor_oldest_waiting_seconds", GAUGE,
                        "How long the job that has waited longest for a worker has waited (0 when none waits).")
FAILED_JOBS = Metric("executor_failed_jobs", GAUGE, "Failed jobs kept in Redis (JOB_RETENTION_DAYS), replayable.")
NOTIFICATIONS_PENDING = Metric("executor_notifications_pending", GAUGE, "Notifications waiting to be sent.")

GAUGES = (QUEUE_DEPTH, DEFERRED_JOBS, LIVE_WORKERS, OLDEST_WAITING, FAILED_JOBS, NOTIFICATIONS_PENDING)
