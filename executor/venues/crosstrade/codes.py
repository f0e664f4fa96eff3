"""CrossTrade's answers sorted into what they mean for a job, as tables.

Errors come as ``{"success": false, "error": "<code>", "detail": "..."}`` or,
for a missing position, as ``{"error": "No position found for instrument
'ES 12-25' in account 'sim101'"}``: a sentence with names in it, so those are
recognised by their fixed opening words (``NO_POSITION_OPENINGS``), every
other error by its exact code (``DOCUMENTED``).

HTTP statuses that decide alone, whatever the body says:

- 408 (NinjaTrader or the add-on is not connected, or a relay timed out): on
  a read, nothing was done and the job is retried later
  (``reason="not_connected"``); on a request that acts (reverseposition,
  close) the outcome is unknown, because CrossTrade does not promise that a
  408 means nothing was done (a relay can time out after forwarding) and its
  own guidance is not to retry blindly: ``OutcomeUnknown``, so the next
  attempt reads the position before sending anything again;
- 401, 403: the token is wrong or lacks access; rejected, never retried;
- 429 and 5xx never reach this module: the transport turns them into
  ``RateLimited``, ``RetryLater`` or ``OutcomeUnknown``.
"""
from __future__ import annotations

import json
from typing import Any

from executor.errors import (ExecutorError, OutcomeUnknown, PositionNotFound, RateLimited, RetryLater,
                             VenueRejected)
from executor.venues.transport import Reply, Request, unreadable_answer

VENUE = "crosstrade"

#: Statuses meaning "not connected": a read did nothing; a request that acts may have acted.
NOT_CONNECTED_STATUSES = frozenset({408})

#: Statuses meaning the token was refused.
AUTH_STATUSES = {401: "the token was refused (HTTP 401)", 403: "the token lacks access (HTTP 403)"}

#: How CrossTrade's no-position errors begin (the rest names the instrument and account).
NO_POSITION_OPENINGS = ("No position found", "No positions found")

#: Error codes and texts CrossTrade documents, with what they mean.
DOCUMENTED = {
    "Rate limit exceeded": "over 180 requests per minute or the burst of 20",
    "invalid_account": "the account does not exist in NinjaTrader",
}

#: Error codes that mean "too many requests" even when the status is not 429.
RATE_LIMITED = frozenset({"Rate limit exceeded"})


def read_answer(reply: Reply, request: Request) -> dict[str, Any]:
    """The JSON object of a success; the error the answer stands for otherwise."""
    if reply.status in NOT_CONNECTED_STATUSES:
        raise _not_connected(reply, request)
    if reply.status in AUTH_STATUSES:
        raise VenueRejected(VENUE, _code_of(reply) or reply.status, AUTH_STATUSES[reply.status],
                            http_status=reply.status, documented=True)
    answer = _json_object(reply.text)
    if answer is None:
        raise _unreadable(reply, request)
    if reply.status >= 400 or answer.get("success") is False or answer.get("error"):
        raise error_for(answer, reply.status)
    return answer


def _not_connected(reply: Reply, request: Request) -> ExecutorError:
    """A 408: nothing done on a read; on a request that acts, not promised, so the position decides."""
    if request.mutating:
        return OutcomeUnknown(VENUE, _code_of(reply), f"{request.endpoint}: HTTP {reply.status} after the request "
                              "left (NinjaTrader or the CrossTrade add-on not connected, or a relay timed out); "
                              "CrossTrade does not promise that nothing was done: the position is read before "
                              "anything is sent again", http_status=reply.status)
    return RetryLater(VENUE, _code_of(reply), "NinjaTrader or the CrossTrade add-on is not connected; "
                      "nothing was done", http_status=reply.status, reason="not_connected")


def error_for(answer: dict[str, Any], http_status: int) -> ExecutorError:
    """The error a CrossTrade error body stands for."""
    code = answer.get("error")
    detail = answer.get("detail")
    text = str(detail or code or f"HTTP {http_status} without an error text")
    if any(str(part).startswith(NO_POSITION_OPENINGS) for part in (code, detail) if part):
        return PositionNotFound(f"CrossTrade: {text}")
    if code in RATE_LIMITED:
        return RateLimited(VENUE, code, text, http_status=http_status, reason="rate_limit")
    return VenueRejected(VENUE, code, text, http_status=http_status, documented=code in DOCUMENTED)


def _unreadable(reply: Reply, request: Request) -> ExecutorError:
    """A success status without a readable body is an unknown outcome for a change; any 4xx is a refusal."""
    if reply.status >= 400:
        return VenueRejected(VENUE, None, f"{request.endpoint}: HTTP {reply.status} with an unreadable answer",
                             http_status=reply.status)
    return unreadable_answer(VENUE, request, reply)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _code_of(reply: Reply) -> str | None:
    answer = _json_object(reply.text)
    code = answer.get("error") if answer is not None else None
    return str(code) if code is not None else None
