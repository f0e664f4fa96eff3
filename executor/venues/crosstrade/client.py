"""CrossTrade's raw client: one method per endpoint, the bearer token and the answer, nothing more.

Only account- and instrument-scoped endpoints exist here. The unfiltered
``POST /v1/api/positions/flatten`` (every position of every account) has no
method on purpose: nothing in the product may send it.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from executor.venues.crosstrade.codes import VENUE, read_answer
from executor.venues.transport import Request, Transport

#: Paths under the base URL; ``{account}`` is filled in URL-quoted.
POSITION = "/v1/api/accounts/{account}/position"
REVERSE = "/v1/api/accounts/{account}/positions/reverseposition"
CLOSE = "/v1/api/accounts/{account}/positions/close"


class CrossTradeClient:
    def __init__(self, base_url: str, token: str, transport: Transport) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._transport = transport

    def __repr__(self) -> str:
        return f"CrossTradeClient({self._base_url!r})"

    def position(self, account: str, instrument: str) -> dict[str, Any]:
        """The account's position in one instrument (``marketPosition`` Flat when none)."""
        query = urlencode({"instrument": instrument}, quote_via=quote)
        return self._call("GET", POSITION, account, "position", query=query)

    def reverse_position(self, account: str, order: dict[str, Any]) -> dict[str, Any]:
        """Close the position, then place ``order`` (instrument, action, quantity, orderType, ...)."""
        return self._call("POST", REVERSE, account, "reverse", body=order)

    def close_position(self, account: str, close: dict[str, Any]) -> dict[str, Any]:
        """Close part or all of one instrument's position (``quantity`` or ``percent``)."""
        return self._call("POST", CLOSE, account, "close", body=close)

    def _call(self, method: str, path: str, account: str, endpoint: str, *, query: str = "",
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self._base_url + path.format(account=quote(account, safe="")) + (f"?{query}" if query else "")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        text = json.dumps(body, separators=(",", ":")) if body is not None else None
        request = Request(method, url, endpoint, headers, text, mutating=method != "GET")
        return read_answer(self._transport.send(VENUE, self._token, request), request)
