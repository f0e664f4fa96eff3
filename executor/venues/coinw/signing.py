"""CoinW request signing, a pure function of what goes on the wire.

sign = Base64(HMAC-SHA256(secret, timestamp + METHOD + path + params)), where
params is ``?`` + the query string as sent for GET, and the JSON body text as
sent for POST and DELETE.
"""
from __future__ import annotations

import base64
import hashlib
import hmac


def signature_payload(timestamp_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    method = method.upper()
    params = f"?{query}" if method == "GET" and query else body
    return f"{timestamp_ms}{method}{path}{params}"


def sign(secret: str, timestamp_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    payload = signature_payload(timestamp_ms, method, path, query, body)
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
