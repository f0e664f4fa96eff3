"""Bitget request signing, a pure function of what goes on the wire.

ACCESS-SIGN = Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath
+ ("?" + queryString if any) + body)). The query string is sorted by key, and
the same sorted text is both signed and sent, so the two can never differ.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Mapping
from urllib.parse import urlencode

#: Sent with every request so the venue answers its messages in English.
LOCALE = "en-US"


def canonical_query(params: Mapping[str, str] | None) -> str:
    """The query string sorted by key, empty values left out; "" when there is nothing."""
    if not params:
        return ""
    return urlencode(sorted((key, value) for key, value in params.items() if value not in (None, "")))


def signature_payload(timestamp_ms: str, method: str, request_path: str, query: str = "", body: str = "") -> str:
    return f"{timestamp_ms}{method.upper()}{request_path}" + (f"?{query}" if query else "") + body


def sign(secret: str, timestamp_ms: str, method: str, request_path: str, query: str = "", body: str = "") -> str:
    payload = signature_payload(timestamp_ms, method, request_path, query, body)
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(api_key: str, secret: str, passphrase: str, timestamp_ms: str, method: str,
                   request_path: str, query: str = "", body: str = "") -> dict[str, str]:
    """The headers of one private request."""
    return {
        "ACCESS-KEY": api_key,
        "ACCESS-SIGN": sign(secret, timestamp_ms, method, request_path, query, body),
        "ACCESS-TIMESTAMP": timestamp_ms,
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": LOCALE,
    }
