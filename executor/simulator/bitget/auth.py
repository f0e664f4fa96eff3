"""Bitget request authentication, checked exactly as the venue documents it.

ACCESS-SIGN = Base64(HMAC-SHA256(secret_key, timestamp + METHOD + requestPath
+ ("?" + queryString if any) + body)), over the body as sent and the query
with its values unencoded (``key=value`` pairs in the order sent, decoded),
as ccxt signs it: a client that signs the percent-encoded text is refused
for any value that needs encoding. The query must be sorted by key (Bitget
signs the sorted query), so an unsorted one is answered as a signature
error. Then the passphrase, then the timestamp window (the simulator clock,
``timestamp_window_s``, 30 s default), then the account's mode: a key
registered with ``"account_mode": "unified"`` is refused with 40085 (a
unified trading account refuses the classic v2 API).
Error texts never repeat a header value.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

from executor.simulator.bitget import protocol as p
from executor.simulator.venue import VenueCall, VenueError


def signature(secret_key: str, timestamp: str, method: str, path: str, query: str, body: str) -> str:
    """The ACCESS-SIGN a correct client sends."""
    message = f"{timestamp}{method.upper()}{path}" + (f"?{query}" if query else "") + body
    digest = hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authenticate(call: VenueCall) -> str:
    """The API key of a correctly signed, fresh request; ``VenueError`` otherwise."""
    api_key = call.headers.get("ACCESS-KEY")
    credentials = call.state.credentials(p.VENUE, api_key) if api_key else None
    if credentials is None:
        raise VenueError(p.CODE_INVALID_KEY, "Invalid ACCESS_KEY")
    timestamp = call.headers.get("ACCESS-TIMESTAMP", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) == 13):
        raise VenueError(p.CODE_INVALID_TIMESTAMP, "Invalid ACCESS_TIMESTAMP")
    expected = signature(credentials.field("secret_key") or "", timestamp, call.method, call.path,
                         _decoded(call.query), call.body)
    sent = call.headers.get("ACCESS-SIGN", "")
    if not hmac.compare_digest(expected.encode(), sent.encode()) or not _sorted(call.query):
        raise VenueError(p.CODE_SIGN, "sign signature error")
    _check_passphrase(call, credentials.field("passphrase") or "")
    _check_timestamp(call, int(timestamp))
    if str(credentials.field("account_mode") or "").lower() == "unified":
        raise VenueError(p.CODE_UNIFIED_ACCOUNT, p.UNIFIED_ACCOUNT_MESSAGE)
    if call.method == "POST" and not call.headers.get("Content-Type", "").startswith("application/json"):
        raise VenueError(p.CODE_CONTENT_TYPE, "Invalid Content_Type, please use the application/json format")
    return api_key or ""


def _decoded(query: str) -> str:
    """The query as Bitget verifies it: each pair in the order sent, its key and value unencoded."""
    return "&".join(f"{key}={value}" for key, value in parse_qsl(query, keep_blank_values=True))


def _sorted(query: str) -> bool:
    keys = [key for key, _ in parse_qsl(query, keep_blank_values=True)]
    return keys == sorted(keys)


def _check_passphrase(call: VenueCall, passphrase: str) -> None:
    sent = call.headers.get("ACCESS-PASSPHRASE")
    if not sent:
        raise VenueError(p.CODE_PASSPHRASE_MISSING, "ACCESS_PASSPHRASE cannot be empty")
    if not hmac.compare_digest(passphrase.encode(), sent.encode()):
        raise VenueError(p.CODE_PASSPHRASE_WRONG, "apikey/password is incorrect")


def _check_timestamp(call: VenueCall, timestamp_ms: int) -> None:
    window_ms = call.state.config.timestamp_window_s * 1000
    if abs(timestamp_ms - call.state.now() * 1000) > window_ms:
        raise VenueError(p.CODE_TIMESTAMP_EXPIRED, "Request timestamp expired")
