"""Bitget's raw client: one method per v2 mix endpoint, signing and the envelope, nothing more."""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping

from executor.venues.bitget import codes
from executor.venues.bitget.signing import canonical_query, signed_headers, signed_query
from executor.venues.transport import Reply, Request, Transport, unreadable_answer

VENUE = "bitget"
SINGLE_POSITION = "/api/v2/mix/position/single-position"
CLICK_BACKHAND = "/api/v2/mix/order/click-backhand"
CLOSE_POSITIONS = "/api/v2/mix/order/close-positions"
PLACE_ORDER = "/api/v2/mix/order/place-order"
ORDER_DETAIL = "/api/v2/mix/order/detail"
SERVER_TIME = "/api/v2/public/time"
CONTRACTS = "/api/v2/mix/market/contracts"


class BitgetClient:
    """Speaks to one Bitget account for one product type and margin coin."""

    def __init__(self, base_url: str, api_key: str, secret_key: str, passphrase: str, transport: Transport, *,
                 product_type: str = "USDT-FUTURES", margin_coin: str = "USDT",
                 clock: Callable[[], float] = time.time) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._secret_key = secret_key
        self._passphrase = passphrase
        self._transport = transport
        self._clock = clock
        self.product_type = product_type
        self.margin_coin = margin_coin

    def __repr__(self) -> str:
        return f"BitgetClient({self._base_url!r}, api_key={self._api_key[:4]}..., {self.product_type})"

    def server_time(self) -> int:
        """The venue's clock in milliseconds (public; for diagnosing 40008)."""
        data = self._call("GET", SERVER_TIME, "server_time", signed=False)
        return int((data or {}).get("serverTime", 0))

    def contracts(self, symbol: str) -> list[dict[str, Any]]:
        """The contract metadata of one symbol (public): ``volumePlace``, ``sizeMultiplier``, ``minTradeNum``..."""
        params = {"productType": self.product_type, "symbol": symbol}
        data = self._call("GET", CONTRACTS, "contracts", params=params, signed=False)
        return [row for row in data or [] if isinstance(row, dict)]

    def single_position(self, symbol: str) -> list[dict[str, Any]]:
        """The open positions of one symbol: one in one-way mode, up to a long and a short in hedge mode."""
        params = {"symbol": symbol, "productType": self.product_type, "marginCoin": self.margin_coin}
        data = self._call("GET", SINGLE_POSITION, "position", params=params)
        return [row for row in data or [] if isinstance(row, dict)]

    def click_backhand(self, body: dict[str, Any]) -> dict[str, Any]:
        """Reverse a position (close it and open the same size the other way)."""
        return self._call("POST", CLICK_BACKHAND, "reverse", body=self._product(body)) or {}

    def close_positions(self, symbol: str, hold_side: str | None) -> dict[str, Any]:
        """Flash close at market: the whole position of that side (every side when ``hold_side`` is None)."""
        body: dict[str, Any] = {"symbol": symbol, "productType": self.product_type}
        if hold_side:
            body["holdSide"] = hold_side
        return self._call("POST", CLOSE_POSITIONS, "close_positions", body=body) or {}

    def place_order(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", PLACE_ORDER, "place_order", body=self._product(body)) or {}

    def order_detail(self, symbol: str, *, client_oid: str | None = None,
                     order_id: str | None = None) -> dict[str, Any] | None:
        """One order by clientOid or orderId; None when the venue has no such order."""
        params = {"symbol": symbol, "productType": self.product_type,
                  "clientOid": client_oid or "", "orderId": order_id or ""}
        try:
            data = self._call("GET", ORDER_DETAIL, "order_detail", params=params)
        except codes.OrderNotFound:
            return None
        return data if isinstance(data, dict) and data else None

    def _product(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with productType and marginCoin after the symbol, as Bitget's examples order them."""
        rest = {key: value for key, value in body.items() if key != "symbol"}
        return {"symbol": body["symbol"], "productType": self.product_type, "marginCoin": self.margin_coin, **rest}

    def _call(self, method: str, path: str, endpoint: str, *, params: Mapping[str, str] | None = None,
              body: dict[str, Any] | None = None, signed: bool = True) -> Any:
        query = canonical_query(params)
        body_text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        if signed:
            timestamp = str(int(self._clock() * 1000))
            headers = signed_headers(self._api_key, self._secret_key, self._passphrase, timestamp,
                                     method, path, signed_query(params), body_text)
        else:
            headers = {"Content-Type": "application/json", "locale": "en-US"}
        url = f"{self._base_url}{path}" + (f"?{query}" if query else "")
        request = Request(method, url, endpoint, headers, body_text or None, mutating=method != "GET")
        return _unwrap(self._transport.send(VENUE, self._api_key, request), request)


def _unwrap(reply: Reply, request: Request) -> Any:
    """The ``data`` of a success; the error its code stands for otherwise (whatever the HTTP status)."""
    try:
        envelope = json.loads(reply.text)
        code = envelope["code"]
    except (ValueError, KeyError, TypeError):
        raise unreadable_answer(VENUE, request, reply) from None
    if str(code) == codes.SUCCESS:
        return envelope.get("data")
    raise codes.error_for(code, str(envelope.get("msg") or ""), reply.status)
