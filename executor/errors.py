"""The error hierarchy. Each class says how the system responds to it."""
from __future__ import annotations

from datetime import datetime


class ExecutorError(Exception):
    """Base of every error the product raises on purpose."""


class CannotStart(ExecutorError):
    """A process cannot start for a reason outside its settings (a port taken, no Redis server to run). It
    stops at once with one line saying why (exit 5)."""


class ServiceUnavailable(ExecutorError):
    """Redis cannot take or give a job. The web answers 503 so the sender retries."""


class JobFailed(ExecutorError):
    """The job cannot be performed as asked. Never retried; a person reads the reason."""


class VenueNotConfigured(JobFailed):
    """The venue's credentials are not set in this process."""


class PositionNotFound(JobFailed):
    """There is no open position matching the alert: nothing to reverse or close."""


class AmbiguousPosition(JobFailed):
    """Several open positions match and the alert does not say which one."""


class OutOfSync(JobFailed):
    """A target alert's ``prev_market_position`` is not what the venue holds, nor is its target: the strategy
    and the account disagree. Nothing is sent; a person looks."""


class WouldOpenPosition(JobFailed):
    """A target alert asks a flat account to be long or short: the product reverses and closes positions,
    it does not open them. Nothing is sent."""


class PositionChanged(JobFailed):
    """The position changed between the read a target decision was made from and the request that acts
    (someone traded meanwhile). Nothing is sent; the job can be replayed once the account is settled."""


class StaleAlert(JobFailed):
    """The job would start too long after its alert arrived; trading on it would be a guess."""


class VenueError(ExecutorError):
    """An answer from a venue that is not a success.

    ``code`` and ``venue_message`` are the venue's own words, kept for the job's record.
    """

    def __init__(self, venue: str, code: str | int | None, venue_message: str, *, http_status: int | None = None):
        self.venue = venue
        self.code = code
        self.venue_message = venue_message
        self.http_status = http_status
        super().__init__(self.describe())

    def describe(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.venue}{code}: {self.venue_message}"


class VenueRejected(VenueError, JobFailed):
    """The venue refused the request and did nothing. Never retried: the job fails with the venue's words.

    ``documented`` is true for codes the venue documents; an undocumented one near a
    funding time is taken for the venue's (undocumented) funding rejection.
    """

    def __init__(self, venue: str, code: str | int | None, venue_message: str, *,
                 http_status: int | None = None, documented: bool = False):
        self.documented = documented
        super().__init__(venue, code, venue_message, http_status=http_status)


class RetryLater(VenueError):
    """Nothing was done (connection refused, rate limit, maintenance, funding, 408).

    Safe to send again later. ``retry_after`` (seconds) or ``until`` (a moment) say when, where known.
    """

    def __init__(self, venue: str, code: str | int | None, venue_message: str, *,
                 http_status: int | None = None, retry_after: float | None = None, reason: str = "retry",
                 until: datetime | None = None):
        self.retry_after = retry_after
        self.reason = reason
        self.until = until
        super().__init__(venue, code, venue_message, http_status=http_status)


class RateLimited(RetryLater):
    """The venue said we sent too much. Back off with jitter before any further request."""


class FundingRejected(RetryLater):
    """The venue refused because of funding settlement. Wait past the funding window."""


class OutcomeUnknown(VenueError):
    """The request was sent and the answer was lost, unreadable or a 5xx.

    The action may or may not have happened: never resend blindly; read the venue's state first.
    """


class BadAlert(ExecutorError):
    """The alert is invalid. Answered 400 with what was wrong, field by field; nothing is queued."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        self.fields = fields or {}
        super().__init__(message)


class NotAuthenticated(ExecutorError):
    """Missing or wrong secret or token. Answered 401 without saying which."""


class AddressNotAllowed(ExecutorError):
    """The sender's address is not in ALLOWED_IPS. Answered 403."""
