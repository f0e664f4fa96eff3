"""The venue-generic request pipeline every venue endpoint goes through.

Order of events for one request:

1. log it with its arrival (wall clock, taken by the server once the headers
   are read) and the simulator clock;
2. take the fault rule that fires for it, if any;
3. "before" faults: latency waits then goes on; http_error, drop and
   rate_limit answer at once (nothing performed, no quota used);
4. authenticate, then the venue's per-account rate limit (when enforced); a
   public endpoint with a declared limit is limited for every client together
   (the venue counts those per IP, and the simulator has one);
5. funding and "before" reject faults answer here (authenticated, nothing
   performed);
6. perform the action (the venue handler);
7. "after" faults: latency delays the answer, http_error replaces it with a
   bare 5xx page, reject with the venue's error envelope, drop closes the
   connection (the action stays performed);
8. complete the log record (HTTP status, venue code, flags).
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from flask import Response, request

from executor.simulator.context import current_state
from executor.simulator.dropping import request_drop
from executor.simulator.faults import FaultRule
from executor.simulator.venue import Reply, VenueCall, VenueError, VenueSpec

Handler = Callable[[VenueCall], Any]

#: Environ key holding the request's headers exactly as sent (names with
#: underscores included, which werkzeug's environ drops); set by the server.
RAW_HEADERS_KEY = "simulator.raw_headers"
#: Environ key holding when the server had read the request's headers (wall clock); set by the server.
ARRIVED_AT_KEY = "simulator.arrived_at"
#: Environ key holding the request's log record, for the server to stamp once the answer has left.
RECORD_KEY = "simulator.record"

#: Body of the bare 5xx page answered by the ``http_error`` fault.
_BARE_ERROR = "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>"
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Time-out"}


def handle(spec: VenueSpec, handler: Handler, *, authenticate: bool = True) -> Response:
    """Run one venue request through logging, faults, auth, limits and the handler."""
    call = _open_call(spec)
    rule = call.state.faults.take(spec.name, call.method, call.path)
    if rule is not None:
        call.record.fault = rule.kind
    reply = _before(call, spec, rule)
    if reply is None:
        reply = _perform(call, spec, handler, rule, authenticate)
        reply = _after(call, spec, rule, reply)
    return _finish(call, reply)


def json_reply(status: int, payload: Any, code: int | str | None) -> Reply:
    """A JSON answer, compact as venues send them."""
    return Reply(status, json.dumps(payload, separators=(",", ":")), code=code)


def _open_call(spec: VenueSpec) -> VenueCall:
    state = current_state()
    path, query = _raw_target()
    body = request.get_data(cache=True, as_text=True)
    arrived_at = request.environ.get(ARRIVED_AT_KEY) or time.time()
    record = state.requests.open(spec.name, request.method, path, query, body, arrived_at, state.now())
    request.environ[RECORD_KEY] = record
    headers = request.environ.get(RAW_HEADERS_KEY) or request.headers
    record.api_key = spec.log_identity(headers)
    return VenueCall(state, spec.name, request.method, path, query, body, headers, record)


def _raw_target() -> tuple[str, str]:
    """Path and query string exactly as on the request line (not decoded)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        path, _, query = raw.partition("?")
        return path, query
    return request.path, request.environ.get("QUERY_STRING", "")


def _before(call: VenueCall, spec: VenueSpec, rule: FaultRule | None) -> Reply | None:
    if rule is None or rule.when != "before":
        return None
    if rule.kind == "latency":
        time.sleep(rule.latency_ms / 1000)
    elif rule.kind == "http_error":
        return _bare_error(rule.status or 503)
    elif rule.kind == "drop":
        return Reply(None, drop=True)
    elif rule.kind == "rate_limit":
        call.record.rate_limited = True
        return spec.failure(call, _rate_limit_error(spec, rule))
    return None


def _rate_limit_error(spec: VenueSpec, rule: FaultRule) -> VenueError:
    """The venue's own rate-limit answer, or the envelope the rule gives instead."""
    default = spec.rate_limit_error()
    if rule.code is None:
        return default
    return VenueError(rule.code, rule.message or default.message, rule.status or default.status)


def _rejection(rule: FaultRule) -> VenueError:
    return VenueError(rule.code if rule.code is not None else "", rule.message or "rejected", rule.status or 200)


def _perform(call: VenueCall, spec: VenueSpec, handler: Handler, rule: FaultRule | None,
             authenticate: bool) -> Reply:
    try:
        if authenticate:
            call.account = spec.authenticate(call)
        if authenticate or f"{call.method} {call.path}" in spec.limits:
            _admit(call, spec)
        if rule is not None and rule.kind == "funding":
            raise spec.funding_error(rule)
        if rule is not None and rule.kind == "reject" and rule.when == "before":
            raise _rejection(rule)
        return spec.success(call, handler(call))
    except VenueError as err:
        return spec.failure(call, err)


def _admit(call: VenueCall, spec: VenueSpec) -> None:
    """Use one unit of the account's quota for this endpoint, or refuse."""
    limit = spec.limits.get(f"{call.method} {call.path}")
    state = call.state
    if limit is not None and state.config.enforce_limits:
        scope = (spec.name, call.account, call.method, call.path)
        if not state.limiter.admit(scope, limit, state.now()):
            call.record.rate_limited = True
            raise spec.rate_limit_error()
    call.record.counted = True


def _after(call: VenueCall, spec: VenueSpec, rule: FaultRule | None, reply: Reply) -> Reply:
    if rule is None or rule.when != "after":
        return reply
    if rule.kind == "latency":
        time.sleep(rule.latency_ms / 1000)
        return reply
    # The log keeps the code of the action performed, which the fault hides from the client.
    if rule.kind == "http_error":
        hidden = _bare_error(rule.status or 503)
        hidden.code = reply.code
        return hidden
    if rule.kind == "reject":
        hidden = spec.failure(call, _rejection(rule))
        hidden.code = reply.code
        return hidden
    if rule.kind == "drop":
        return Reply(None, code=reply.code, drop=True)
    return reply


def _bare_error(status: int) -> Reply:
    title = f"{status} {_REASONS.get(status, 'Server Error')}"
    return Reply(status, _BARE_ERROR.format(title), content_type="text/html")


def _finish(call: VenueCall, reply: Reply) -> Response:
    call.record.status = reply.status
    call.record.code = reply.code
    if reply.drop:
        request_drop(request.environ)
        return Response(b"", 200)
    return Response(reply.body, reply.status or 200, content_type=reply.content_type)
