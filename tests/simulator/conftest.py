"""Fixtures: a simulator on loopback with a fake clock, and a signing CoinW client.

The client signs with hashlib/hmac directly, independently of the
simulator's own signing code, so a shared mistake cannot hide.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable, Iterator

import pytest
import requests

from executor.simulator import (DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, SimulatorServer,
                                SimulatorState, start_simulator)

#: 2023-11-14T22:13:20Z: a fixed simulator time, 13 digits in milliseconds.
START = 1_700_000_000.0

#: Every HTTP call in these tests gives up after this long.
TIMEOUT_S = 5.0


class FakeClock:
    """The simulator's clock, moved by hand."""

    def __init__(self, start: float = START) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def coinw_sign(secret: str, timestamp: str, method: str, path: str, params: str) -> str:
    message = (timestamp + method + path + params).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class CoinWTestClient:
    """Signed CoinW requests against the simulator, with knobs to get them wrong."""

    def __init__(self, base_url: str, clock: FakeClock, api_key: str = DEMO_COINW_API_KEY,
                 secret: str = DEMO_COINW_SECRET_KEY) -> None:
        self.base_url = base_url
        self.clock = clock
        self.api_key = api_key
        self.secret = secret

    def request(self, method: str, path: str, *, query: str = "", body: Any = None,
                timestamp: str | None = None, sign: str | None = None,
                timeout: float = TIMEOUT_S) -> requests.Response:
        text = body if isinstance(body, str) else (
            json.dumps(body, separators=(",", ":")) if body is not None else "")
        stamp = timestamp if timestamp is not None else str(int(self.clock() * 1000))
        params = (f"?{query}" if query else "") if method == "GET" else text
        headers = {"api_key": self.api_key, "timestamp": stamp,
                   "sign": sign if sign is not None else coinw_sign(self.secret, stamp, method, path, params),
                   "Content-Type": "application/json"}
        url = self.base_url + path + (f"?{query}" if query else "")
        return requests.request(method, url, data=text.encode() if text else None,
                                headers=headers, timeout=timeout)

    def positions(self, instrument: str = "BTC", ids: str | None = None) -> list[dict[str, Any]]:
        query = f"instrument={instrument}" + (f"&openIds={ids}" if ids is not None else "")
        reply = self.request("GET", "/v1/perpum/positions", query=query).json()
        assert reply["code"] == 0, reply
        return reply["data"]

    def reverse(self, position_id: Any) -> requests.Response:
        return self.request("POST", "/v1/perpum/positions/reverse", body={"id": position_id})

    def close(self, **body: Any) -> requests.Response:
        return self.request("DELETE", "/v1/perpum/positions", body=body)


class Control:
    """The simulator's ``/_sim`` control API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url + "/_sim"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.post(self.base_url + path, json=body, timeout=TIMEOUT_S)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        reply = requests.get(self.base_url + path, params=params, timeout=TIMEOUT_S)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def open_position(self, direction: str = "long", size: str = "10", instrument: str = "BTC",
                      api_key: str = DEMO_COINW_API_KEY) -> dict[str, Any]:
        return self.post("/positions", {"venue": "coinw", "api_key": api_key, "instrument": instrument,
                                        "direction": direction, "size": size})

    def fault(self, **rule: Any) -> dict[str, Any]:
        return self.post("/faults", {"venue": "coinw", **rule})

    def orders(self) -> list[dict[str, Any]]:
        return self.get("/orders", venue="coinw")["orders"]

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self.get("/requests", venue="coinw", since=since)["requests"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimulatorServer]:
    server = start_simulator(state=SimulatorState(now=clock))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def coinw(sim: SimulatorServer, clock: FakeClock) -> CoinWTestClient:
    return CoinWTestClient(sim.base_url, clock)


@pytest.fixture
def control(sim: SimulatorServer) -> Control:
    return Control(sim.base_url)


@pytest.fixture
def client_for(sim: SimulatorServer, clock: FakeClock) -> Callable[[str, str], CoinWTestClient]:
    """Build a CoinW client for other credentials: ``client_for(api_key, secret)``."""
    def build(api_key: str, secret: str) -> CoinWTestClient:
        return CoinWTestClient(sim.base_url, clock, api_key, secret)
    return build
