"""Bitget request signing, a pure function of what goes on the wire.

ACCESS-SIGN = Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath
+ ("?" + queryString if any) + body)). The query string is sorted by key.

Bitget's documentation does not say whether the signed query is the
percent-encoded text on the wire or the values as they are. ccxt, whose
signatures are byte-for-byte those of this module on every request the
product makes, signs the values unencoded, so that is what is signed here
(``signed_query``), while the wire carries the same pairs, in the same order,
percent-encoded (``canonical_query``). For the values the product sends
(letters, digits, ``-``) the two texts are the same; they differ only for a
value that needs encoding (a clientOid with ``:``, ``#`` or ``+``, which
Bitget's clientOid pattern allows).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Mapping
from urllib.parse import quote

#: Sent with every request so the venue answers its messages in English.
LOCALE = "en-US"


def _sorted_pairs(params: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """The parameters sorted by key, empty values left out."""
    return sorted((key, value) for key, value in (params or {}).items() if value not in (None, ""))


def canonical_query(params: Mapping[str, str] | None) -> str:
    """The query string as sent: sorted by key, percent-encoded (``%20`` for a space); "" when empty."""
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in _sorted_pairs(params))


def signed_query(params: Mapping[str, str] | None) -> str:
    """The query string as signed: the same pairs in the same order, values unencoded (as ccxt signs them)."""
    return "&".join(f"{key}={value}" for key, value in _sorted_pairs(params))


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
