"""CoinW's error codes, as a table: what each one means for a job."""
from __future__ import annotations

from executor.errors import RateLimited, VenueError, VenueRejected

VENUE = "coinw"

#: Codes CoinW documents. Everything else non-zero is a rejection, never retried.
#: Too many requests: 29001 as documented, and a body code 429 (seen by an independent client, with HTTP 200).
RATE_LIMITED = {29001, 429}
REJECTED = {
    6000: "authentication error",
    6001: "invalid signature",
    6003: "the API key lacks a permission",
    402: "missing required parameter",
    500: "wrong URL",
    9111: "symbol not tradeable",
}


def error_for(code: int | str | None, message: str, http_status: int) -> VenueError:
    """The error a non-zero CoinW code stands for."""
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        number = None
    text = message or REJECTED.get(number or -1, "error")
    if number in RATE_LIMITED:
        return RateLimited(VENUE, number, text, http_status=http_status, reason="rate_limit")
    return VenueRejected(VENUE, code, text, http_status=http_status, documented=number in REJECTED)

