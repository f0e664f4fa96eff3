"""CoinW's raw client: one method per endpoint, signing and the envelope, nothing more."""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from executor.venues.coinw import codes
from executor.venues.coinw.signing import query_string, sign
from executor.venues.transport import Reply, Request, Transport, unreadable_answer

VENUE = "coinw"
POSITIONS = "/v1/perpum/positions"
REVERSE = "/v1/perpum/positions/reverse"


class CoinWClient:
    def __init__(self, base_url: str, api_key: str, secret_key: str, transport: Transport,
                 clock: Callable[[], float] = time.time) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._secret_key = secret_key
        self._transport = transport
        self._clock = clock

    def __repr__(self) -> str:
        return f"CoinWClient({self._base_url!r}, api_key={self._api_key[:4]}...)"

    def positions(self, instrument: str, open_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Open positions of one instrument, optionally only those ids (at most 20)."""
        params = {"instrument": instrument}
        if open_ids:
            params["openIds"] = ",".join(open_ids)
        data = self._call("GET", POSITIONS, "positions", query=query_string(params))
        return list(data or [])

    def reverse(self, position_id: str) -> str:
        """Close the position and open the same size the other way. Returns the order id."""
        return _order_id(self._call("POST", REVERSE, "reverse", body={"id": _as_id(position_id)}))

    def close(self, position_id: str, *, close_num: str | None = None, close_rate: str | None = None,
              order_price: str | None = None) -> str:
        """Close by contracts or by rate, at market or as a plan close at ``order_price``."""
        body: dict[str, Any] = {"id": _as_id(position_id), "positionType": "plan" if order_price else "execute"}
        if close_num is not None:
            body["closeNum"] = close_num
        if close_rate is not None:
            body["closeRate"] = close_rate
        if order_price is not None:
            body["orderPrice"] = order_price
        return _order_id(self._call("DELETE", POSITIONS, "close", body=body))

    def _call(self, method: str, path: str, endpoint: str, *, query: str = "",
              body: dict[str, Any] | None = None) -> Any:
        body_text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        timestamp = str(int(self._clock() * 1000))
        headers = {
            "api_key": self._api_key,
            "timestamp": timestamp,
            "sign": sign(self._secret_key, timestamp, method, path, query, body_text),
            "Content-Type": "application/json",
        }
        url = f"{self._base_url}{path}" + (f"?{query}" if query else "")
        request = Request(method, url, endpoint, headers, body_text or None, mutating=method != "GET")
        return _unwrap(self._transport.send(VENUE, self._api_key, request), request)


def _unwrap(reply: Reply, request: Request) -> Any:
    """The ``data`` of a success; the error its code stands for otherwise."""
    try:
        envelope = json.loads(reply.text)
        code = envelope["code"]
    except (ValueError, KeyError, TypeError):
        raise unreadable_answer(VENUE, request, reply) from None
    if str(code) == "0":
        return envelope.get("data")
    message = envelope.get("msg") or envelope.get("message") or ""
    raise codes.error_for(code, str(message), reply.status)


def _order_id(data: Any) -> str:
    if isinstance(data, dict):
        data = data.get("value", data.get("orderId", data.get("id")))
    return str(data) if data is not None else ""


def _as_id(position_id: str) -> int | str:
    return int(position_id) if position_id.isdigit() else position_id
