"""The simulator's CrossTrade endpoints over HTTP: token, accounts, instruments, semantics, limits."""
from __future__ import annotations

import pytest

from tests.crosstrade.sim import (FLATTEN_EVERYTHING, configure, open_position, orders, positions, sent, venue_get,
                                  venue_post)

POSITION = "/v1/api/accounts/{}/position"
REVERSE = "/v1/api/accounts/Sim101/positions/reverseposition"
CLOSE = "/v1/api/accounts/Sim101/positions/close"
MARKET_SELL = {"instrument": "ES 03-26", "action": "SELL", "quantity": 2, "orderType": "MARKET",
               "timeInForce": "DAY"}


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(simulator, monkeypatch) -> Clock:
    """The simulator's clock, held still so rate windows do not depend on the machine's speed."""
    clock = Clock()
    monkeypatch.setattr(simulator.state, "now", clock)
    return clock


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_bad_or_missing_token_is_401_in_crosstrades_shape(simulator, token):
    answer = venue_get(simulator, POSITION.format("Sim101"), token=token, instrument="ES")
    assert answer.status_code == 401
    assert answer.json() == {"success": False, "error": "unauthorized", "detail": "Invalid or missing bearer token"}
    assert all(r["api_key"] is None or token not in r["api_key"] for r in sent(simulator))


@pytest.mark.parametrize("name", ["ES 03-26", "ESH26", "ES", "ES1!", "es1!"])
def test_every_documented_instrument_form_finds_the_same_position(simulator, name):
    open_position(simulator, "long", 4, instrument="ES 03-26")
    answer = venue_get(simulator, POSITION.format("sIM101"), instrument=name).json()
    assert answer["marketPosition"] == "Long" and answer["quantity"] == 4 and answer["instrument"] == "ES 03-26"
    assert answer["account"] == "Sim101" and answer["success"] is True


def test_undocumented_instrument_form_is_refused(simulator):
    answer = venue_get(simulator, POSITION.format("Sim101"), instrument="ESH2026")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_instrument"


def test_front_month_is_configurable(simulator):
    open_position(simulator, "short", 1, instrument="ESM26")
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").json()["marketPosition"] == "Flat"
    configure(simulator, front_month="06-26")
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").json()["marketPosition"] == "Short"


def test_account_outside_the_tokens_accounts_is_invalid_account(simulator):
    answer = venue_get(simulator, POSITION.format("Sim999"), instrument="ES")
    assert answer.status_code == 404 and answer.json()["error"] == "invalid_account"


def test_reverse_without_a_position_is_the_documented_error(simulator):
    answer = venue_post(simulator, REVERSE, MARKET_SELL)
    assert answer.json() == {"error": "No position found for instrument 'ES 03-26' in account 'Sim101'"}
    assert orders(simulator) == []


def test_reverse_needs_an_explicit_order_type(simulator):
    open_position(simulator, "long", 2)
    body = {k: v for k, v in MARKET_SELL.items() if k != "orderType"}
    assert venue_post(simulator, REVERSE, body).json()["error"] == "invalid_parameter"


@pytest.mark.parametrize(("body", "left"), [
    ({"quantity": 9}, []),
    ({"percent": 0.34}, [3]),
    ({"percent": 0.34, "quantity": 1}, [4]),
    ({}, []),
])
def test_close_caps_quantity_rounds_percent_up_and_closes_all_by_default(simulator, body, left):
    open_position(simulator, "long", 5)
    answer = venue_post(simulator, CLOSE, {"instrument": "ESH26", **body})
    assert answer.status_code == 200 and answer.json()["success"] is True
    assert [p["quantity"] for p in positions(simulator)] == left


def test_close_without_a_position_is_the_documented_error(simulator):
    answer = venue_post(simulator, CLOSE, {"instrument": "ES 12-24"})
    assert answer.json() == {"error": "No positions found for instrument 'ES 12-24'"}


def test_flatten_everything_exists_and_is_recorded(simulator):
    open_position(simulator, "long", 1, account="Sim101")
    open_position(simulator, "short", 2, account="Sim102")
    answer = venue_post(simulator, FLATTEN_EVERYTHING)
    assert answer.status_code == 200 and len(answer.json()["closedPositions"]) == 2
    assert positions(simulator) == [] and [r["path"] for r in sent(simulator)] == [FLATTEN_EVERYTHING]


def test_not_connected_switch_answers_408_and_does_nothing(simulator):
    open_position(simulator, "long", 2)
    configure(simulator, connected=False)
    answer = venue_post(simulator, REVERSE, MARKET_SELL)
    assert answer.status_code == 408 and answer.json()["success"] is False
    assert orders(simulator) == [] and positions(simulator)[0]["marketPosition"] == "Long"


def test_over_the_burst_of_20_answers_429(simulator, clock):
    statuses = [venue_get(simulator, POSITION.format("Sim101"), instrument="ES").status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").json() == {"error": "Rate limit exceeded"}
    clock.t += 1.0
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").status_code == 200


def test_over_180_a_minute_answers_429_until_the_minute_passes(simulator, clock):
    for _second in range(9):
        clock.t += 1.0
        for _request in range(20):
            assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").status_code == 200
    clock.t += 1.0
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").status_code == 429
    clock.t += 51.0
    assert venue_get(simulator, POSITION.format("Sim101"), instrument="ES").status_code == 200
