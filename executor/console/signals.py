"""A webhook request as the signal log keeps it: who sent what, and what it was answered.

The webhook route notes what it learns as it goes (``Observation``, kept in ``flask.g``); once the answer is
made, whatever it is, ``Signal.of`` reads the outcome from it and ``record_signal`` writes the entry, unless
the route already wrote it while counting a wrong secret (one script does both). Recording never changes the
answer: if Redis fails, the web log says so and the sender gets the answer it was going to get.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, g, request
from redis.exceptions import RedisError

from executor.accounts import display
from executor.console.context import Console, services
from executor.console.lockout import Verdict
from executor.console.signallog import ACCEPTED, DUPLICATE, REFUSED, Guess
from executor.queueing import Submission

log = logging.getLogger(__name__)

ROUTE = "POST /webhook"
WRONG_SECRET = "missing or wrong secret"
WRONG_SECRET_LOCKED = ("missing or wrong secret: {failures} wrong secrets from this address, locked out until "
                       "{until} (429 to wrong secrets meanwhile; a right secret is still accepted)")


@dataclass
class Observation:
    """What the webhook route learned of one request, filled in as it goes."""

    at: datetime
    address: str | None
    raw: bytes | None = None
    body: Any = None
    submissions: list[Submission] = field(default_factory=list)
    recorded: bool = False


@dataclass(frozen=True)
class Signal:
    """One webhook request, answered: what the signal log records (and what anything else may count)."""

    observation: Observation
    status: int
    outcome: str
    reason: str | None
    fields: dict[str, Any] | None

    @classmethod
    def of(cls, observation: Observation, response: Response) -> Signal:
        submissions = observation.submissions
        if response.status_code < 300 and submissions:
            outcome = DUPLICATE if all(item.duplicate for item in submissions) else ACCEPTED
            return cls(observation, response.status_code, outcome, None, None)
        answer = response.get_json(silent=True) if response.is_json else None  # a refusal's own words
        answer = answer if isinstance(answer, dict) else {}
        reason = answer.get("error") or response.status
        fields = answer.get("fields") if isinstance(answer.get("fields"), dict) else None
        return cls(observation, response.status_code, REFUSED, str(reason), fields)


def observe() -> Observation:
    """Start noting what a webhook request brings."""
    g.signal = Observation(at=services().clock(), address=request.remote_addr)
    return g.signal


def observation() -> Observation | None:
    return g.get("signal")


def entry(parts: Console, signal: Signal) -> dict[str, Any]:
    """The signal log entry: never a secret, never more than a few KiB."""
    seen = signal.observation
    redact = parts.redactor
    return {
        "at": seen.at.isoformat(),
        "address": seen.address,
        "route": ROUTE,
        "outcome": signal.outcome,
        "reason": redact.fields(signal.reason) if signal.reason else None,
        "fields": {redact.text(str(name)): redact.fields(messages) for name, messages in signal.fields.items()}
        if signal.fields else None,
        "jobs": [{"job_id": item.job_id, "account": display(item.account), "status": item.status,
                  "duplicate": item.duplicate} for item in seen.submissions],
        **_body(parts, seen),
    }


def _body(parts: Console, seen: Observation) -> dict[str, Any]:
    """The alert's fields when the body was a JSON object; otherwise an excerpt of what came."""
    if isinstance(seen.body, dict):
        return {"alert": parts.redactor.fields(seen.body), "excerpt": None, "size": len(seen.raw or b"")}
    if seen.raw:
        return {"alert": None, "excerpt": parts.redactor.excerpt(seen.raw), "size": len(seen.raw)}
    return {"alert": None, "excerpt": None, "size": request.content_length or 0}


def record_wrong_secret(parts: Console, seen: Observation) -> Verdict:
    """Count a wrong secret against its address and write its entry, in one round trip; the verdict says
    whether the address is now locked out (then the entry, and the answer, are 429)."""
    refused = Signal(seen, 401, REFUSED, WRONG_SECRET, None)
    seen.recorded = True
    try:
        verdict = parts.signal_log.record({**entry(parts, refused), "reason_when_locked": WRONG_SECRET_LOCKED},
                                          401, Guess(parts.webhook_lockout, seen.address, seen.at))
    except RedisError as exc:  # no count, no lock: the wrong secret is answered 401 as ever
        log.warning("signal log: could not record a wrong secret (%s)", type(exc).__name__)
        return Verdict(0, 0, 0)
    assert verdict is not None  # a guess always gets one
    return verdict


def record_signal(parts: Console, signal: Signal) -> None:
    """Write the entry of an answered webhook request, unless it was written on the way."""
    if signal.observation.recorded:
        return
    try:
        parts.signal_log.record(entry(parts, signal), signal.status)
    except RedisError as exc:
        log.warning("signal log: could not record a webhook request answered %d (%s)", signal.status,
                    type(exc).__name__)
