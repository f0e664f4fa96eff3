"""Talking to the simulator's control API and CrossTrade endpoints in tests; every call is bounded."""
from __future__ import annotations

import json
from typing import Any

import requests

from executor.alertqueue import make_queue
from executor.queueing import put_on_queue
from executor.simulator import DEMO_CROSSTRADE_TOKEN
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

TIMEOUT_S = 5.0
FLATTEN_EVERYTHING = "/v1/api/positions/flatten"
#: The contract the tests trade: ``ESH26`` in alerts, ``ES 03-26`` on the wire (also the simulator's front month).
CONTRACT = "ES 03-26"


def open_position(simulator, direction: str = "long", size: int = 2, account: str = "Sim101",
                  instrument: str = CONTRACT) -> dict[str, Any]:
    answer = requests.post(f"{simulator.base_url}/_sim/positions", timeout=TIMEOUT_S, json={
        "venue": "crosstrade", "api_key": account, "instrument": instrument, "direction": direction,
        "size": size, "open_price": "5779.25"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def positions(simulator, account: str | None = None) -> list[dict[str, Any]]:
    query = {"venue": "crosstrade", **({"api_key": account} if account else {})}
    return requests.get(f"{simulator.base_url}/_sim/positions", params=query, timeout=TIMEOUT_S).json()["positions"]


def orders(simulator) -> list[dict[str, Any]]:
    return requests.get(f"{simulator.base_url}/_sim/orders", params={"venue": "crosstrade"},
                        timeout=TIMEOUT_S).json()["orders"]


def sent(simulator, method: str | None = None) -> list[dict[str, Any]]:
    """CrossTrade requests the simulator received, oldest first, optionally of one method."""
    records = requests.get(f"{simulator.base_url}/_sim/requests", params={"venue": "crosstrade"},
                           timeout=TIMEOUT_S).json()["requests"]
    return [r for r in records if method is None or r["method"] == method]


def bodies(simulator) -> list[tuple[str, dict[str, Any]]]:
    """(path, JSON body) of every POST received."""
    return [(r["path"], json.loads(r["body"])) for r in sent(simulator, "POST")]


def add_fault(simulator, **rule: Any) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/faults", timeout=TIMEOUT_S,
                           json={"venue": "crosstrade", **rule})
    assert answer.status_code == 201, answer.text


def configure(simulator, **options: Any) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/config", timeout=TIMEOUT_S,
                           json={"venue_options": {"crosstrade": options}})
    assert answer.status_code == 200, answer.text


def venue_get(simulator, path: str, token: str = DEMO_CROSSTRADE_TOKEN, **query: str) -> requests.Response:
    return requests.get(simulator.base_url + path, params=query, timeout=TIMEOUT_S,
                        headers={"Authorization": f"Bearer {token}"})


def venue_post(simulator, path: str, body: dict[str, Any] | None = None,
               token: str = DEMO_CROSSTRADE_TOKEN) -> requests.Response:
    return requests.post(simulator.base_url + path, json=body, timeout=TIMEOUT_S,
                         headers={"Authorization": f"Bearer {token}"})


def alert(**fields: Any) -> dict[str, Any]:
    body = {"secret": WEBHOOK_SECRET, "venue": "crosstrade", "action": "reverse", "symbol": "ESH26", **fields}
    return {key: value for key, value in body.items() if value is not None}


def send(client, **fields: Any) -> str:
    answer = client.post("/webhook", json=alert(**fields))
    assert answer.status_code == 202, answer.json
    return answer.json["job_id"]


def job(client, job_id: str) -> dict[str, Any]:
    return client.get(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json


def release_scheduled(redis, settings) -> None:
    """Do what RQ's scheduler does when a deferred job's time comes, without waiting for it."""
    queue = make_queue(redis, settings)
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)
        put_on_queue(queue, queue.fetch_job(job_id))
