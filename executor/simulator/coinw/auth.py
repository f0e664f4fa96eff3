"""CoinW request authentication, checked exactly as the venue documents it.

sign = Base64(HMAC-SHA256(secret_key, timestamp + METHOD + path + params));
params is ``?`` + the raw query string for GET (nothing when empty) and the
raw body text for POST and DELETE. Error texts never repeat a header value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from executor.simulator.coinw.protocol import CODE_AUTH, CODE_SIGN, VENUE
from executor.simulator.venue import VenueCall, VenueError


def signature(secret_key: str, timestamp: str, method: str, path: str, params: str) -> str:
    """The ``sign`` header a correct client sends."""
    message = f"{timestamp}{method.upper()}{path}{params}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_params(method: str, query: str, body: str) -> str:
    if method.upper() == "GET":
        return f"?{query}" if query else ""
    return body


def authenticate(call: VenueCall) -> str:
    """The api key of a correctly signed, fresh request; ``VenueError`` otherwise."""
    api_key = call.headers.get("api_key")
    credentials = call.state.credentials(VENUE, api_key) if api_key else None
    if api_key is None or credentials is None:
        raise VenueError(CODE_AUTH, "authentication error: unknown or missing api_key")
    timestamp = call.headers.get("timestamp", "")
    _check_timestamp(call, timestamp)
    secret = credentials.field("secret_key") or ""
    expected = signature(secret, timestamp, call.method, call.path,
                         signed_params(call.method, call.query, call.body))
    sent = call.headers.get("sign", "")
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise VenueError(CODE_SIGN, "invalid signature")
    return api_key


def _check_timestamp(call: VenueCall, timestamp: str) -> None:
    if len(timestamp) != 13 or not timestamp.isdigit() or not timestamp.isascii():
        raise VenueError(CODE_AUTH, "authentication error: timestamp must be 13-digit milliseconds")
    window_ms = call.state.config.timestamp_window_s * 1000
    if abs(int(timestamp) - call.state.now() * 1000) > window_ms:
        raise VenueError(CODE_AUTH, "authentication error: timestamp outside the allowed window")
