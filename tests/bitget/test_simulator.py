"""The simulator's Bitget side on its own, through a raw signing client: auth, limits, modes, duplicates."""
from __future__ import annotations

import pytest
import requests

from executor.simulator import DEMO_BITGET_SECRET_KEY
from tests.bitget.helpers import CLOSE_POSITIONS, ORDER_DETAIL, TIMEOUT_S, RawBitget, bitget_sign

#: 2023-11-14T22:13:20Z, the simulator clock while these tests run (limits and windows never depend on speed).
FROZEN = 1_700_000_000.0
QUERY = "marginCoin=USDT&productType=USDT-FUTURES&symbol=BTCUSDT"


class Clock:
    def __init__(self) -> None:
        self.t = FROZEN

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(sim):
    clock = Clock()
    sim.server.state.now = clock
    return clock


@pytest.fixture
def raw(sim, clock):
    return RawBitget(sim.base_url, clock)


def test_a_signed_read_shows_the_position_with_numbers_as_strings_and_the_mode(raw, sim):
    sim.open("long", "0.01")
    answer = raw.position()
    assert answer["code"] == "00000" and answer["msg"] == "success" and answer["requestTime"] == FROZEN * 1000
    (row,) = answer["data"]
    assert (row["holdSide"], row["total"], row["available"], row["posMode"]) == ("long", "0.01", "0.01",
                                                                                  "one_way_mode")
    assert row["openPriceAvg"] == "50000" and row["marginMode"] == "crossed"


def test_the_public_time_needs_no_signature(sim, clock):
    answer = requests.get(f"{sim.base_url}/api/v2/public/time", timeout=TIMEOUT_S).json()
    assert answer["data"] == {"serverTime": str(int(FROZEN * 1000))}


@pytest.mark.parametrize("change, code", [
    ({"sign": "bm90IGEgc2lnbmF0dXJl"}, "40009"),
    ({"timestamp": str(int((FROZEN - 31) * 1000))}, "40008"),
    ({"timestamp": str(int((FROZEN + 31) * 1000))}, "40008"),
    ({"timestamp": "1700000000"}, "40005"),
])
def test_a_bad_signature_or_timestamp_is_refused(raw, change, code):
    answer = raw.request("GET", "/api/v2/mix/position/single-position", query=QUERY, **change)
    assert (answer["status"], answer["code"], answer["data"]) == (400, code, None)


def test_a_timestamp_inside_the_30_second_window_is_accepted(raw):
    assert raw.request("GET", "/api/v2/mix/position/single-position", query=QUERY,
                       timestamp=str(int((FROZEN - 29) * 1000)))["code"] == "00000"


def test_a_query_signed_as_sent_but_not_sorted_by_key_is_a_signature_error(raw):
    answer = raw.request("GET", "/api/v2/mix/position/single-position",
                         query="symbol=BTCUSDT&productType=USDT-FUTURES&marginCoin=USDT")
    assert answer["code"] == "40009"


def test_the_query_is_verified_with_its_values_unencoded_as_ccxt_signs_it(raw, sim):
    sim.open("long", "1")
    raw.place(side="sell", size="1", reduceOnly="YES", clientOid="c:1#2+3")
    wire = "clientOid=c%3A1%232%2B3&productType=USDT-FUTURES&symbol=BTCUSDT"
    stamp = str(int(FROZEN * 1000))
    unencoded = f"{stamp}GET{ORDER_DETAIL}?clientOid=c:1#2+3&productType=USDT-FUTURES&symbol=BTCUSDT"
    found = raw.request("GET", ORDER_DETAIL, query=wire, timestamp=stamp,
                        sign=bitget_sign(DEMO_BITGET_SECRET_KEY, unencoded))
    assert found["code"] == "00000" and found["data"]["clientOid"] == "c:1#2+3"
    assert raw.request("GET", ORDER_DETAIL, query=wire)["code"] == "40009"  # signed as encoded on the wire


@pytest.mark.parametrize("client, code", [
    ({"passphrase": None}, "40011"), ({"passphrase": "wrong"}, "40012"),
    ({"api_key": "nobody"}, "40006"), ({"secret": "wrong-secret"}, "40009"),
])
def test_credentials_are_checked_key_secret_and_passphrase(sim, clock, client, code):
    answer = RawBitget(sim.base_url, clock, **client).position()
    assert answer["code"] == code and DEMO_BITGET_SECRET_KEY not in str(answer)


def test_over_ten_reads_a_second_answers_http_429_and_the_next_second_is_free(raw, clock):
    assert all(raw.position()["code"] == "00000" for _ in range(10))
    answer = raw.position()
    assert (answer["status"], answer["code"], answer["msg"]) == (429, "429", "Too Many Requests")
    clock.t += 1.0
    assert raw.position()["code"] == "00000"


def test_flash_close_is_limited_to_one_a_second(raw, sim):
    sim.open("long", "1")
    sim.open("short", "1")
    sim.set_mode("hedge_mode")
    body = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "holdSide": "long"}
    assert raw.request("POST", CLOSE_POSITIONS, body=body)["code"] == "00000"
    assert raw.request("POST", CLOSE_POSITIONS, body={**body, "holdSide": "short"})["status"] == 429
    assert sim.positions() == {"short": "1"}


def test_a_duplicate_client_oid_is_refused_with_40786_without_acting(raw, sim):
    sim.open("long", "5")
    first = raw.backhand(side="sell", size="5", clientOid="job-1")
    assert first["code"] == "00000" and first["data"]["clientOid"] == "job-1"
    again = raw.backhand(side="buy", size="5", clientOid="job-1")
    assert again["code"] == "40786"
    assert sim.positions() == {"short": "5"} and len(sim.orders()) == 1


def test_hedge_reversal_below_the_position_reverses_that_part_and_at_or_above_all_of_it(raw, sim):
    sim.set_mode("hedge_mode")
    sim.open("long", "20")
    assert raw.backhand(side="buy", tradeSide="open", size="3")["code"] == "00000"
    assert sim.positions() == {"long": "17", "short": "3"}
    assert raw.backhand(side="buy", tradeSide="close", size="25")["code"] == "00000"
    assert sim.positions() == {"short": "20"}


def test_hedge_reversal_without_trade_side_and_one_way_with_it_are_refused(raw, sim):
    sim.open("long", "2")
    assert raw.backhand(side="sell", tradeSide="open")["code"] == "40774"
    sim.set_mode("hedge_mode")
    assert raw.backhand(side="buy")["code"] == "40774"
    assert raw.backhand(side="sell", tradeSide="open")["code"] == "40757"  # no short to reverse
    assert sim.positions() == {"long": "2"} and sim.orders() == []


def test_one_way_reversal_reverses_the_whole_position_whatever_the_size(raw, sim):
    sim.open("short", "4")
    assert raw.backhand(side="buy", size="1")["code"] == "00000"
    assert sim.positions() == {"long": "4"}


def test_a_reduce_only_order_larger_than_the_position_is_refused_and_a_fitting_one_reduces(raw, sim):
    sim.open("long", "2")
    assert raw.place(side="sell", size="3", reduceOnly="YES")["code"] == "40762"
    assert raw.place(side="buy", size="1", reduceOnly="YES")["code"] == "22002"  # no short to reduce
    assert raw.place(side="sell", size="0.5", reduceOnly="YES")["code"] == "00000"
    assert sim.positions() == {"long": "1.5"}


def test_hedge_close_uses_the_side_of_the_position_and_needs_trade_side(raw, sim):
    sim.set_mode("hedge_mode")
    sim.open("short", "2")
    assert raw.place(side="sell", size="1")["code"] == "40774"
    assert raw.place(side="sell", tradeSide="close", size="1")["code"] == "00000"
    assert sim.positions() == {"short": "1"}


@pytest.mark.parametrize("written", ["close", "Close"])
def test_hedge_close_takes_trade_side_in_either_documented_spelling(raw, sim, written):
    sim.set_mode("hedge_mode")
    sim.open("long", "2")
    assert raw.place(side="buy", tradeSide=written, size="1")["code"] == "00000"
    assert sim.positions() == {"long": "1"}


@pytest.mark.parametrize("written", ["CLOSE", "cLose", "close_long", " close", "reduce"])
def test_a_trade_side_bitget_does_not_document_is_refused_40020_and_nothing_is_done(raw, sim, written):
    sim.set_mode("hedge_mode")
    sim.open("long", "2")
    assert raw.place(side="buy", tradeSide=written, size="1")["code"] == "40020"
    assert raw.backhand(side="buy", tradeSide=written.replace("close", "open"))["code"] == "40020"
    assert sim.positions() == {"long": "2"} and sim.orders() == []


def test_an_order_is_found_by_order_id_or_client_oid_and_an_unknown_one_is_40109(raw, sim):
    sim.open("long", "1")
    order_id = raw.place(side="sell", size="1", reduceOnly="YES", clientOid="cls-1")["data"]["orderId"]
    by_id = raw.request("GET", ORDER_DETAIL, query=f"orderId={order_id}&productType=USDT-FUTURES&symbol=BTCUSDT")
    by_oid = raw.request("GET", ORDER_DETAIL, query="clientOid=cls-1&productType=USDT-FUTURES&symbol=BTCUSDT")
    assert by_id["data"] == by_oid["data"]
    assert (by_oid["data"]["orderId"], by_oid["data"]["state"], by_oid["data"]["reduceOnly"]) == (
        order_id, "filled", "YES")
    missing = raw.request("GET", ORDER_DETAIL, query="clientOid=nope&productType=USDT-FUTURES&symbol=BTCUSDT")
    assert missing["code"] == "40109"


def test_hedge_flash_close_without_hold_side_closes_both_and_nothing_left_is_22002(raw, sim, clock):
    sim.set_mode("hedge_mode")
    sim.open("long", "1")
    sim.open("short", "2")
    answer = raw.request("POST", CLOSE_POSITIONS, body={"symbol": "btcusdt", "productType": "usdt-futures"})
    assert len(answer["data"]["successList"]) == 2 and answer["data"]["failureList"] == []
    assert sim.positions() == {}
    clock.t += 1.0  # flash close allows one a second
    again = raw.request("POST", CLOSE_POSITIONS, body={"symbol": "BTCUSDT", "productType": "USDT-FUTURES"})
    assert again["code"] == "22002"


def test_the_maintenance_fault_answers_45043_and_does_nothing(raw, sim):
    sim.open("long", "1")
    sim.fault(kind="funding")
    answer = raw.backhand(side="sell")
    assert answer["code"] == "45043" and sim.positions() == {"long": "1"}


def test_the_control_api_shows_positions_in_the_accounts_mode(sim):
    sim.set_mode("hedge_mode")
    assert sim.open("long", "1")["posMode"] == "hedge_mode"


def test_an_unknown_path_answers_404_40404(raw):
    answer = raw.request("GET", "/api/v2/mix/order/nothing-here")
    assert (answer["status"], answer["code"]) == (404, "40404")


@pytest.mark.parametrize("code", ["40768", "43001"])
def test_the_order_lookup_can_answer_bitgets_other_not_found_codes(raw, sim, code):
    sim.configure(order_not_found_code=code)
    missing = raw.request("GET", ORDER_DETAIL, query="clientOid=nope&productType=USDT-FUTURES&symbol=BTCUSDT")
    assert (missing["status"], missing["code"], missing["data"]) == (400, code, None)


def test_a_unified_trading_account_is_refused_40085_on_every_signed_request_but_public_ones_answer(raw, sim):
    sim.open("long", "1")
    sim.set_mode("one_way_mode", account_mode="unified")
    assert raw.position()["code"] == "40085"
    assert raw.backhand(side="sell")["code"] == "40085" and sim.positions() == {"long": "1"}
    assert requests.get(f"{sim.base_url}/api/v2/public/time", timeout=TIMEOUT_S).json()["code"] == "00000"


def contracts(sim, query: str = "productType=USDT-FUTURES&symbol=ETHUSDT") -> requests.Response:
    return requests.get(f"{sim.base_url}/api/v2/mix/market/contracts?{query}", timeout=TIMEOUT_S)


def test_the_contracts_endpoint_is_public_and_gives_the_size_rules_as_strings(sim, clock):
    answer = contracts(sim).json()
    assert answer["code"] == "00000"
    (row,) = answer["data"]
    assert (row["symbol"], row["volumePlace"], row["sizeMultiplier"], row["minTradeNum"]) == (
        "ETHUSDT", "2", "0.01", "0.01")
    sim.set_contract("ETHUSDT", minTradeNum="0.05")
    (changed,) = contracts(sim).json()["data"]
    assert (changed["volumePlace"], changed["minTradeNum"]) == ("2", "0.05")
    everything = contracts(sim, "productType=USDT-FUTURES").json()["data"]
    assert {row["symbol"] for row in everything} >= {"BTCUSDT", "ETHUSDT"}


def test_the_contracts_endpoint_allows_20_requests_a_second(sim, clock):
    assert [contracts(sim).status_code for _ in range(21)] == [200] * 20 + [429]
    clock.t += 1.1
    assert contracts(sim).status_code == 200


@pytest.mark.parametrize("rules, size, code, words", [
    ({}, "0.005", "40808", "size checkBDScale error value=0.005 checkScale=2"),
    ({"volumePlace": "3", "sizeMultiplier": "0.005"}, "0.007", "40808", "sizeMultiplier=0.005"),
    ({"minTradeNum": "0.05"}, "0.02", "45110", "less than the minimum order quantity 0.05"),
])
def test_an_order_size_the_contract_does_not_allow_is_refused_and_nothing_is_done(raw, sim, rules, size, code,
                                                                                    words):
    sim.set_contract("ETHUSDT", **rules)
    sim.open("long", "1", symbol="ETHUSDT")
    answer = raw.place(symbol="ETHUSDT", side="sell", size=size, reduceOnly="YES")
    assert (answer["status"], answer["code"]) == (400, code) and words in answer["msg"]
    assert raw.backhand(symbol="ETHUSDT", side="sell", size=size)["code"] == code
    assert sim.positions() == {"long": "1"} and sim.orders() == []
    assert raw.place(symbol="ETHUSDT", side="sell", size="0.1", reduceOnly="YES")["code"] == "00000"
