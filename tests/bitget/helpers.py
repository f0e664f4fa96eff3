"""Test helpers: the simulator's control API for Bitget, a signing raw client, and the web app's calls."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Callable

import requests

from executor.simulator import DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

#: Every HTTP call in these tests gives up after this long.
TIMEOUT_S = 5.0
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BACKHAND = "/api/v2/mix/order/click-backhand"
CLOSE_POSITIONS = "/api/v2/mix/order/close-positions"
PLACE_ORDER = "/api/v2/mix/order/place-order"
SINGLE_POSITION = "/api/v2/mix/position/single-position"
ORDER_DETAIL = "/api/v2/mix/order/detail"
CONTRACTS = "/api/v2/mix/market/contracts"


class BitgetSim:
    """The simulator's ``/_sim`` control API, for venue "bitget" and the demo key."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base_url = server.base_url

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.post(f"{self.base_url}/_sim{path}", json=body, timeout=TIMEOUT_S)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        reply = requests.get(f"{self.base_url}/_sim{path}", params={"venue": "bitget", **params}, timeout=TIMEOUT_S)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def set_mode(self, mode: str, secret: str = DEMO_BITGET_SECRET_KEY,
                 passphrase: str = DEMO_BITGET_PASSPHRASE, account_mode: str = "classic") -> None:
        """Re-register the demo key on the venue: its position mode, account mode, or a rotated secret or
        passphrase."""
        self._post("/credentials", {"venue": "bitget", "api_key": DEMO_BITGET_API_KEY, "secret_key": secret,
                                    "passphrase": passphrase, "pos_mode": mode, "account_mode": account_mode})

    def configure(self, **options: Any) -> None:
        """Bitget's venue options on the simulator (put back after each test by the ``sim`` fixture)."""
        self._post("/config", {"venue_options": {"bitget": options}})

    def set_contract(self, symbol: str = "BTCUSDT", **rules: str) -> None:
        """Change a symbol's size rules on the venue (``volumePlace``, ``sizeMultiplier``, ``minTradeNum``)."""
        self.configure(contracts={symbol: rules})

    def open(self, side: str = "long", size: str = "10", symbol: str = "BTCUSDT") -> dict[str, Any]:
        return self._post("/positions", {"venue": "bitget", "api_key": DEMO_BITGET_API_KEY, "instrument": symbol,
                                         "direction": side, "size": size})

    def positions(self) -> dict[str, str]:
        """Open sizes by holdSide, e.g. {"long": "17", "short": "3"}."""
        return {p["holdSide"]: p["total"] for p in self._get("/positions")["positions"]}

    def orders(self) -> list[dict[str, Any]]:
        return self._get("/orders")["orders"]

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        log = self._get("/requests")["requests"]
        return [entry for entry in log if path is None or entry["path"] == path]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(entry["body"]) for entry in self.requests(path)]

    def fault(self, **rule: Any) -> None:
        self._post("/faults", {"venue": "bitget", **rule})


def bitget_sign(secret: str, payload: str) -> str:
    """Computed here with hmac directly, independently of the product's signing code."""
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


class RawBitget:
    """Signed Bitget requests, with knobs to get each part wrong."""

    def __init__(self, base_url: str, clock: Callable[[], float] = time.time, api_key: str = DEMO_BITGET_API_KEY,
                 secret: str = DEMO_BITGET_SECRET_KEY, passphrase: str | None = DEMO_BITGET_PASSPHRASE) -> None:
        self.base_url, self.clock = base_url, clock
        self.api_key, self.secret, self.passphrase = api_key, secret, passphrase

    def request(self, method: str, path: str, *, query: str = "", body: Any = None, timestamp: str | None = None,
                sign: str | None = None) -> dict[str, Any]:
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        stamp = timestamp or str(int(self.clock() * 1000))
        payload = stamp + method + path + (f"?{query}" if query else "") + text
        headers = {"ACCESS-KEY": self.api_key, "ACCESS-TIMESTAMP": stamp,
                   "ACCESS-SIGN": sign or bitget_sign(self.secret, payload), "Content-Type": "application/json"}
        if self.passphrase is not None:
            headers["ACCESS-PASSPHRASE"] = self.passphrase
        url = self.base_url + path + (f"?{query}" if query else "")
        reply = requests.request(method, url, data=text.encode() or None, headers=headers, timeout=TIMEOUT_S)
        return {"status": reply.status_code, **reply.json()}

    def position(self, symbol: str = "BTCUSDT") -> dict[str, Any]:
        return self.request("GET", SINGLE_POSITION,
                            query=f"marginCoin=USDT&productType=USDT-FUTURES&symbol={symbol}")

    def backhand(self, **fields: Any) -> dict[str, Any]:
        body = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT", **fields}
        return self.request("POST", BACKHAND, body=body)

    def place(self, **fields: Any) -> dict[str, Any]:
        body = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT", "marginMode": "crossed",
                "orderType": "market", **fields}
        return self.request("POST", PLACE_ORDER, body=body)


def send(client: Any, expect: int = 202, **fields: Any) -> Any:
    """POST an alert for Bitget; the job id when accepted, else the answer's JSON."""
    body = {"secret": WEBHOOK_SECRET, "venue": "bitget", "symbol": "BITGET:BTCUSDT.P", **fields}
    answer = client.post("/webhook", json=body)
    assert answer.status_code == expect, answer.json
    return answer.json["job_id"] if expect == 202 else answer.json


def job(client: Any, job_id: str) -> dict[str, Any]:
    return client.get(f"/jobs/{job_id}", headers=AUTH).json
