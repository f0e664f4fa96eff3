"""Bitget's error codes, as tables: what each one means for a job.

The envelope's ``code`` is a string; "00000" is success. Codes are matched
exactly, never by their message.
"""
from __future__ import annotations

from executor.errors import ExecutorError, PositionNotFound, RateLimited, RetryLater, VenueRejected

VENUE = "bitget"

#: The envelope code of a success.
SUCCESS = "00000"

#: Rejections Bitget documents: the request was refused and nothing was done. Never retried.
REJECTED = {
    "40006": "invalid ACCESS-KEY",
    "40008": "request timestamp expired (check the server clock)",
    "40009": "signature error (check the secret key)",
    "40011": "ACCESS-PASSPHRASE missing",
    "40012": "API key or passphrase incorrect",
}

#: Variants of "there is no position": the job fails as PositionNotFound.
NO_POSITION = {"22002", "40757", "43043"}

#: Nothing was done and the venue will take it later: settlement/maintenance (45043), server upgrade (40200).
MAINTENANCE = {"45043": "trading suspended for settlement or maintenance", "40200": "server upgrade"}

#: The clientOid was used before: the order already exists (a retry after a lost answer).
DUPLICATE_CLIENT_OID = {"40786", "43118", "45034"}

#: The order lookup found no such order: 40109, 40768 and 43001 all say so (ccxt maps the three to OrderNotFound).
ORDER_NOT_FOUND = {"40109", "40768", "43001"}

#: The account is in unified trading mode, which refuses the classic v2 API this product speaks.
UNIFIED_ACCOUNT = "40085"

#: A parameter fails its scale check ("size checkBDScale error value=0.005 checkScale=2"): nothing was done.
SCALE_ERROR = "40808"

#: Over the limit, when the envelope says so rather than HTTP 429.
RATE_LIMITED = {"429"}


class DuplicateClientOid(VenueRejected):
    """Bitget already has an order with this clientOid: the adapter looks it up instead of failing."""


class OrderNotFound(VenueRejected):
    """The order lookup found nothing under that id."""


class SizeScaleRejected(VenueRejected):
    """A size has more decimals (or finer steps) than the contract allows: the contract's metadata is refreshed,
    and the size fitted to it is sent once more when that changes it; otherwise the job fails."""


class UnifiedAccountMode(VenueRejected):
    """The API key's account is in Bitget's unified trading mode, which refuses the classic v2 mix API.

    Nothing was done. The job fails with what to do about it; never retried (every request would be refused).
    """

    ADVICE = ("the account is in unified trading mode, which refuses the classic v2 futures API this product "
              "uses; switch the account back to classic account mode on Bitget, or use the API key of an account "
              "(or sub-account) in classic mode, then replay the job")

    def describe(self) -> str:
        return f"{super().describe()} ({self.ADVICE})"


def error_for(code: object, message: str, http_status: int) -> ExecutorError:
    """The error a Bitget code other than success stands for."""
    text = str(code) if code is not None else ""
    words = message or REJECTED.get(text) or MAINTENANCE.get(text) or "error"
    if text in RATE_LIMITED:
        return RateLimited(VENUE, text, words, http_status=http_status, reason="rate_limit")
    if text in MAINTENANCE:
        return RetryLater(VENUE, text, words, http_status=http_status, reason="maintenance")
    if text in NO_POSITION:
        return PositionNotFound(f"Bitget has no position to act on ({text}: {words})")
    if text in DUPLICATE_CLIENT_OID:
        return DuplicateClientOid(VENUE, text, words, http_status=http_status, documented=True)
    if text in ORDER_NOT_FOUND:
        return OrderNotFound(VENUE, text, words, http_status=http_status)
    if text == SCALE_ERROR:
        return SizeScaleRejected(VENUE, text, words, http_status=http_status, documented=True)
    if text == UNIFIED_ACCOUNT:
        return UnifiedAccountMode(VENUE, text, message or "unified trading mode", http_status=http_status,
                                  documented=True)
    return VenueRejected(VENUE, text or None, words, http_status=http_status, documented=text in REJECTED)
