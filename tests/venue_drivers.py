"""One driver per venue for tests that run the same scenario on all three: open a position in an account,
read what an account holds, count the requests that act, all through the simulator's control API over HTTP.

Each venue has two accounts here: the default one (the demo credentials) and ``second`` (its own
credentials on CoinW and Bitget, the NinjaTrader account Sim102 under the demo token on CrossTrade).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from redis import Redis
from rq.serializers import JSONSerializer

from config.accounts import ApiAccount
from config.secrets import Secret
from config.settings import BitgetSettings, CoinWSettings, CrossTradeSettings, Settings
from executor.simulator import (DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY,
                                DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, DEMO_CROSSTRADE_ACCOUNT,
                                DEMO_CROSSTRADE_TOKEN)
from executor.alertqueue import make_queue
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET, BurstWorker
from workers.runtime import Runtime, install_runtime

TIMEOUT_S = 5.0
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: The second account's name in alerts, on every venue.
SECOND = "second"
SECOND_COINW = ApiAccount("second-coinw-key", Secret("second-coinw-secret"))
SECOND_BITGET = ApiAccount("second-bitget-key", Secret("second-bitget-secret"), Secret("second-bitget-pass"))
#: NinjaTrader account names on the simulator, for the default account and for ``second``.
NINJATRADER = {None: DEMO_CROSSTRADE_ACCOUNT, SECOND: "Sim102"}

#: What each venue's position looks like in the control API: (side field, size field).
POSITION_FIELDS = {"coinw": ("direction", "currentPiece"), "bitget": ("holdSide", "total"),
                   "crosstrade": ("marketPosition", "quantity")}


@dataclass(frozen=True)
class Driver:
    venue: str
    symbol: str  # as an alert writes it
    instrument: str  # as the simulator stores it
    size: str  # a position size the venue takes

    @property
    def second(self) -> str:
        """How an alert names the second account: ``second``, or on CrossTrade its NinjaTrader name."""
        return NINJATRADER[SECOND] if self.venue == "crosstrade" else SECOND

    def account_key(self, account: str | None) -> str:
        """The simulator's account of ``account``: its API key, or the NinjaTrader account name."""
        if self.venue == "coinw":
            return SECOND_COINW.api_key if account else DEMO_COINW_API_KEY
        if self.venue == "bitget":
            return SECOND_BITGET.api_key if account else DEMO_BITGET_API_KEY
        return NINJATRADER[account]

    def open(self, simulator: Any, side: str, account: str | None = None, size: str | None = None) -> None:
        answer = requests.post(f"{simulator.base_url}/_sim/positions", timeout=TIMEOUT_S, json={
            "venue": self.venue, "api_key": self.account_key(account), "instrument": self.instrument,
            "direction": side, "size": size or self.size})
        assert answer.status_code == 201, answer.text

    def holding(self, simulator: Any, account: str | None = None) -> list[tuple[str, Decimal]]:
        """(side, size) of each open position of the account, sorted; [] when flat."""
        answer = requests.get(f"{simulator.base_url}/_sim/positions", timeout=TIMEOUT_S,
                              params={"venue": self.venue, "api_key": self.account_key(account)})
        side_field, size_field = POSITION_FIELDS[self.venue]
        held = [(str(p[side_field]).lower(), Decimal(str(p[size_field]))) for p in answer.json()["positions"]]
        return sorted((side, size) for side, size in held if size > 0 and side in ("long", "short"))

    def acting_requests(self, simulator: Any, account: str | None = None) -> list[dict[str, Any]]:
        """Every request that acts (anything but a read) the venue received for the account."""
        log = requests.get(f"{simulator.base_url}/_sim/requests", params={"venue": self.venue},
                           timeout=TIMEOUT_S).json()["requests"]
        return [entry for entry in log if entry["method"] != "GET" and self._of(entry, account)]

    def _of(self, entry: dict[str, Any], account: str | None) -> bool:
        if self.venue == "crosstrade":
            return f"/accounts/{self.account_key(account)}/" in entry["path"]
        return entry.get("api_key") == self.account_key(account)

    def alert(self, **fields: Any) -> dict[str, Any]:
        body = {"secret": WEBHOOK_SECRET, "venue": self.venue, "symbol": self.symbol, **fields}
        return {key: value for key, value in body.items() if value is not None}


DRIVERS = {
    "coinw": Driver("coinw", "BTCUSDT.P", "BTC", "10"),
    "bitget": Driver("bitget", "BITGET:BTCUSDT.P", "BTCUSDT", "0.5"),
    "crosstrade": Driver("crosstrade", "ESH26", "ES 03-26", "2"),
}


def all_venue_settings(settings: Settings, simulator: Any) -> Settings:
    """The root settings with every venue pointed at the simulator, each with its default and second account."""
    return dataclasses.replace(
        settings,
        coinw=CoinWSettings(base_url=simulator.base_url, api_key=DEMO_COINW_API_KEY,
                            secret_key=Secret(DEMO_COINW_SECRET_KEY), accounts={SECOND: SECOND_COINW}),
        bitget=BitgetSettings(base_url=simulator.base_url, api_key=DEMO_BITGET_API_KEY,
                              secret_key=Secret(DEMO_BITGET_SECRET_KEY), passphrase=Secret(DEMO_BITGET_PASSPHRASE),
                              accounts={SECOND: SECOND_BITGET}),
        crosstrade=CrossTradeSettings(base_url=simulator.base_url, token=Secret(DEMO_CROSSTRADE_TOKEN),
                                      account=DEMO_CROSSTRADE_ACCOUNT),
    )


def register_second_accounts(simulator: Any) -> None:
    """Make the second CoinW and Bitget accounts' credentials valid on the simulator (Sim102 already is)."""
    for body in ({"venue": "coinw", "api_key": SECOND_COINW.api_key,
                  "secret_key": SECOND_COINW.secret_key.reveal()},
                 {"venue": "bitget", "api_key": SECOND_BITGET.api_key,
                  "secret_key": SECOND_BITGET.secret_key.reveal(), "passphrase": _reveal(SECOND_BITGET.passphrase),
                  "pos_mode": "one_way_mode"}):
        answer = requests.post(f"{simulator.base_url}/_sim/credentials", json=body, timeout=TIMEOUT_S)
        assert answer.status_code == 201, answer.text


def add_fault(simulator: Any, venue: str, **rule: Any) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/faults", json={"venue": venue, **rule}, timeout=TIMEOUT_S)
    assert answer.status_code in (200, 201), answer.text


def run_worker(settings: Settings, redis: Redis, clock: Any = None) -> None:
    """Run the queued jobs through the product's worker with these settings (and clock), not the fixture's."""
    install_runtime(Runtime(settings, redis=redis, **({"clock": clock} if clock else {})))
    try:
        BurstWorker([make_queue(redis, settings)], connection=redis, serializer=JSONSerializer).work(burst=True)
    finally:
        install_runtime(None)


def job(client: Any, job_id: str) -> dict[str, Any]:
    return client.get(f"/jobs/{job_id}", headers=AUTH).json


def _reveal(secret: Secret | None) -> str:
    assert secret is not None
    return secret.reveal()
