"""CoinW request signing, a pure function of what goes on the wire.

sign = Base64(HMAC-SHA256(secret, timestamp + METHOD + path + params)), where
params is ``?`` + the query string as sent for GET, and the JSON body text as
sent for POST and DELETE.

The query is built once (``query_string``) and that same text is both sent and
signed. Its commas stay as they are: an independent CoinW client sends and
signs ``openIds=1,2`` so, and a comma needs no encoding in a query. Anything
else outside RFC 3986's unreserved characters is percent-encoded (a space as
``%20``, never ``+``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Mapping
from urllib.parse import quote

#: Characters left as they are in a query value besides RFC 3986's unreserved ones: the list separator.
QUERY_SAFE = ","


def query_string(params: Mapping[str, str]) -> str:
    """The query as it goes on the wire and into the signature, in the order given."""
    return "&".join(f"{quote(key, safe=QUERY_SAFE)}={quote(value, safe=QUERY_SAFE)}" for key, value in params.items())


def signature_payload(timestamp_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    method = method.upper()
    params = f"?{query}" if method == "GET" and query else body
    return f"{timestamp_ms}{method}{path}{params}"


def sign(secret: str, timestamp_ms: str, method: str, path: str, query: str = "", body: str = "") -> str:
    payload = signature_payload(timestamp_ms, method, path, query, body)
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
