"""What the web process tells of each webhook request: its jobs' first log lines, its outcome's count, and,
for a refused alert, a log line (status, reason, sender address: never the secret) and its place in the
minute's summary of refusals (``executor.notify.refusals``). The signal log (``executor.console.signals``)
records the same requests; both are fed from the webhook's one place for what a request leaves behind.

Nothing here sends anything over the network: counts are added in memory and written every second, and a
refusal is counted in Redis only when its notification is wanted.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from executor.metrics.catalogue import ALERTS, INTAKE, STAGE_SECONDS
from executor.stagetimes import seconds_between

if TYPE_CHECKING:
    from executor.app import Services
    from executor.console.signals import Signal
    from executor.intake import Intake
    from executor.queueing import Submission

log = logging.getLogger(__name__)

#: Outcome of a webhook request by its HTTP status (``executor_alerts_total{outcome}``).
OUTCOMES = {202: "accepted", 200: "duplicate", 400: "invalid", 401: "unauthorized", 403: "forbidden",
            413: "too_large", 429: "locked_out", 503: "unavailable"}
#: The statuses of a refused alert: logged, and summarised in a notification.
REFUSALS = frozenset({400, 401, 403, 413, 429})
#: A refusal's reason is cut to this many characters in a log line.
MAX_REASON = 500
#: The words intake uses when ``sent_at`` is older than MAX_ALERT_AGE: such a refusal is a stale signal.
STALE_WORDS = "older than MAX_ALERT_AGE"


def tell_accepted(ctx: Services, intake: Intake, submissions: list[Submission], received_at: datetime,
                  address: str | None) -> None:
    """``received`` and ``queued`` for each new job (``received again`` for a duplicate), and the intake stage."""
    seconds = seconds_between(received_at, ctx.clock())
    for alert, submission in zip(intake.alerts, submissions):
        fields = {"job_id": submission.job_id, "venue": alert.venue, "symbol": alert.symbol,
                  "action": alert.action or f"to {alert.market_position}", "account": alert.account}
        if submission.duplicate:
            log.info("received again from %s: %s; a duplicate of this job (%s), not performed again", address,
                     alert.describe(), submission.status,
                     extra={"job_id": submission.job_id, "fields": {"event": "duplicate", **fields}})
            continue
        log.info("received from %s: %s", address, alert.describe(),
                 extra={"job_id": submission.job_id, "fields": {"event": "received", **fields}})
        log.info("queued", extra={"job_id": submission.job_id, "fields": {"event": "queued"}})
        if seconds is not None:
            ctx.metrics.observe(STAGE_SECONDS, seconds, INTAKE)


def observe_webhook(ctx: Services, signal: Signal) -> None:
    """Count the request's outcome; log a refusal and count it for the summary (``signal``: the request as
    the webhook's one place for what each request leaves behind sees it, ``executor.web``)."""
    status = signal.status
    stale = status == 400 and _stale(signal.fields)
    ctx.metrics.count(ALERTS, "stale" if stale else OUTCOMES.get(status, "error"))
    if status not in REFUSALS:
        return
    reason = refusal_reason(status, signal.reason, signal.fields)
    address = signal.observation.address
    log.warning("refused %d: %s (from %s)", status, reason, address or "unknown",
                extra={"fields": {"event": "refused", "status": status, "reason": reason, "address": address}})
    ctx.refusals.record("stale" if stale else "refused", status, reason, address or "unknown")


def refusal_reason(status: int, error: str | None, fields: dict[str, Any] | None) -> str:
    """What was wrong, from the product's own answer (which never repeats the secret it was sent)."""
    if status == 401:
        return "missing or wrong secret"
    reason = error or f"HTTP {status}"
    if fields:
        reason += " " + "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in
                                  fields.items())
    return reason[:MAX_REASON]


def _stale(fields: Any) -> bool:
    """Refused only because ``sent_at`` is older than MAX_ALERT_AGE."""
    if not isinstance(fields, dict) or list(fields) != ["sent_at"]:
        return False
    return any(STALE_WORDS in str(message) for message in fields["sent_at"])
