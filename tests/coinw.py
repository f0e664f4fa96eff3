"""Test helpers for CoinW through the simulator's control API and the web app."""
from __future__ import annotations

import requests

from executor.simulator import DEMO_COINW_API_KEY
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REVERSE = "/v1/perpum/positions/reverse"
TIMEOUT = 5


def open_position(simulator, direction="long", size="10", instrument="BTC"):
    answer = requests.post(f"{simulator.base_url}/_sim/positions", timeout=TIMEOUT, json={
        "venue": "coinw", "api_key": DEMO_COINW_API_KEY, "instrument": instrument, "direction": direction,
        "size": size})
    assert answer.status_code == 201, answer.text
    return answer.json()


def positions(simulator):
    return requests.get(f"{simulator.base_url}/_sim/positions", params={"venue": "coinw"},
                        timeout=TIMEOUT).json()["positions"]


def orders(simulator):
    return requests.get(f"{simulator.base_url}/_sim/orders", params={"venue": "coinw"},
                        timeout=TIMEOUT).json()["orders"]


def venue_requests(simulator, path=None):
    log = requests.get(f"{simulator.base_url}/_sim/requests", params={"venue": "coinw"}, timeout=TIMEOUT).json()
    return [entry for entry in log["requests"] if path is None or entry["path"] == path]


def add_fault(simulator, **rule):
    answer = requests.post(f"{simulator.base_url}/_sim/faults", json={"venue": "coinw", **rule}, timeout=TIMEOUT)
    assert answer.status_code in (200, 201), answer.text


def send(client, **fields):
    """Post a CoinW alert (reverse BTC unless told otherwise) and return its job id."""
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}
    answer = client.post("/webhook", json=body)
    assert answer.status_code == 202, answer.json
    return answer.json["job_id"]


def view(client, job_id):
    return client.get(f"/jobs/{job_id}", headers=AUTH).json
