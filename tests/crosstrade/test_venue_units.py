"""CrossTrade's tables without a network: instruments, answers, reconciliation, and no token in a repr."""
from __future__ import annotations

from decimal import Decimal

import pytest

from executor.errors import OutcomeUnknown, PositionNotFound, RateLimited, RetryLater, VenueRejected
from executor.symbols import is_valid_instrument
from executor.venues.crosstrade.client import CrossTradeClient
from executor.venues.crosstrade.codes import read_answer
from executor.venues.crosstrade.instruments import NotAFuture, instrument_key, parse_future, wire_instrument
from executor.venues.crosstrade.reconcile import judge
from executor.venues.transport import Reply, Request, Transport

MAPPING = [
    # TradingView writes, alert symbol (key), sent to CrossTrade
    ("ES1!", "ES", "ES1!"),
    ("CME_MINI:ES1!", "ES", "ES1!"),
    ("es1!", "ES", "ES1!"),
    ("ES", "ES", "ES"),
    ("ESZ25", "ESZ25", "ES 12-25"),
    ("ESH26", "ESH26", "ES 03-26"),
    ("MESZ2025", "MESZ25", "MES 12-25"),
    ("CME_MINI:MESZ2025", "MESZ25", "MES 12-25"),
    ("NQH2026", "NQH26", "NQ 03-26"),
    ("ES 12-25", "ESZ25", "ES 12-25"),
    ("MNQH26", "MNQH26", "MNQ 03-26"),
    ("M2KZ2025", "M2KZ25", "M2K 12-25"),
    ("6EM26", "6EM26", "6E 06-26"),
    ("COMEX:GC1!", "GC", "GC1!"),
]


@pytest.mark.parametrize(("ticker", "key", "wire"), MAPPING)
def test_ticker_maps_to_one_key_and_a_name_crosstrade_accepts(ticker, key, wire):
    assert instrument_key(ticker) == key and is_valid_instrument(key)
    assert wire_instrument(ticker) == wire


@pytest.mark.parametrize("ticker", ["ESZ25", "ESZ2025", "ES 12-25", "CME_MINI:ESZ2025"])
def test_every_spelling_of_one_contract_shares_one_key(ticker):
    assert instrument_key(ticker) == "ESZ25" and wire_instrument(instrument_key(ticker)) == "ES 12-25"


@pytest.mark.parametrize("ticker", ["BTCUSDT.P", "BINANCE:BTCUSDT", "AAPL", "EURUSD", "ES2!", "ES 13-25",
                                    "ESZ5", "ESZ1999", "12Z25", "", "ES-12-25"])
def test_what_is_not_a_futures_contract_is_refused(ticker):
    with pytest.raises(NotAFuture):
        parse_future(ticker)
    assert instrument_key(ticker) == ""


REQUEST_GET = Request("GET", "http://x/v1/api/accounts/Sim101/position", "position", {})
REQUEST_POST = Request("POST", "http://x/v1/api/accounts/Sim101/positions/close", "close", {}, "{}", True)


def reply(status: int, text: str) -> Reply:
    return Reply(status, text, {}, 1.0)


@pytest.mark.parametrize(("status", "text", "error", "check"), [
    (408, '{"success": false, "error": "not_connected"}', OutcomeUnknown,
     lambda e: e.http_status == 408 and "read before" in str(e)),
    (401, '{"success": false, "error": "unauthorized"}', VenueRejected, lambda e: e.documented),
    (403, "forbidden", VenueRejected, lambda e: e.documented and e.code == 403),
    (404, '{"error": "No position found for instrument \'ES 12-25\' in account \'sim101\'"}', PositionNotFound,
     lambda e: "ES 12-25" in str(e)),
    (404, '{"error": "No positions found for instrument \'ES 12-24\'"}', PositionNotFound, lambda e: True),
    (404, '{"success": false, "error": "invalid_account", "detail": "Account Sim999 not found"}', VenueRejected,
     lambda e: e.documented and e.venue_message == "Account Sim999 not found"),
    (400, '{"success": false, "error": "something_new", "detail": "odd"}', VenueRejected,
     lambda e: not e.documented and e.code == "something_new"),
    (200, '{"error": "Rate limit exceeded"}', RateLimited, lambda e: True),
    (200, "<html>", OutcomeUnknown, lambda e: True),
])
def test_answer_is_sorted_by_the_table(status, text, error, check):
    with pytest.raises(error) as raised:
        read_answer(reply(status, text), REQUEST_POST)
    assert check(raised.value)


def test_a_408_to_a_read_did_nothing_and_is_retried_later():
    with pytest.raises(RetryLater) as raised:
        read_answer(reply(408, '{"success": false, "error": "not_connected"}'), REQUEST_GET)
    assert raised.value.reason == "not_connected"


def test_unreadable_answer_to_a_read_is_safe_to_repeat():
    with pytest.raises(RetryLater):
        read_answer(reply(200, "not json"), REQUEST_GET)


def test_success_answer_is_returned():
    assert read_answer(reply(200, '{"orderId": "7", "success": true}'), REQUEST_POST)["orderId"] == "7"


def test_client_repr_never_shows_the_token():
    client = CrossTradeClient("https://app.crosstrade.io", "secret-token-value", Transport())
    assert "secret-token-value" not in repr(client)
    assert not hasattr(CrossTradeClient, "flatten"), "the product must never flatten everything"


def in_flight(side: str, size: str, request: dict) -> dict:
    return {"position_before": {"side": side, "size": size, "account": "Sim101"}, "request": request}


SELL_2 = {"instrument": "ES 03-26", "action": "SELL", "quantity": 2, "orderType": "MARKET", "timeInForce": "DAY"}


@pytest.mark.parametrize(("action", "record", "now", "done"), [
    ("reverse", in_flight("long", "2", SELL_2), ("short", Decimal(2)), True),
    ("reverse", in_flight("long", "2", SELL_2), ("long", Decimal(2)), False),
    ("reverse", in_flight("long", "2", {**SELL_2, "orderType": "LIMIT", "limitPrice": 5800}), (None, Decimal(0)),
     True),
    ("close", in_flight("long", "5", {"instrument": "ES 03-26", "percent": 0.5}), ("long", Decimal(2)), True),
    ("close", in_flight("long", "5", {"instrument": "ES 03-26", "quantity": 5}), (None, Decimal(0)), True),
    ("close", in_flight("long", "5", {"instrument": "ES 03-26", "quantity": 2}), ("long", Decimal(5)), False),
])
def test_reconciliation_reads_done_or_not_done_from_the_position(action, record, now, done):
    result = judge(action, record, now)
    assert (result is not None) == done


@pytest.mark.parametrize(("record", "now"), [
    (in_flight("short", "2", SELL_2), ("short", Decimal(2))),  # a same-side reverse of the same size
    (in_flight("long", "4", {"instrument": "ES 03-26", "quantity": 1}), ("long", Decimal(8))),
    ({"position_before": {"side": "long", "size": "1"}}, ("long", Decimal(1))),  # request not recorded
])
def test_reconciliation_that_cannot_tell_says_so(record, now):
    with pytest.raises(OutcomeUnknown):
        judge("reverse" if record.get("request", {}).get("action") else "close", record, now)
