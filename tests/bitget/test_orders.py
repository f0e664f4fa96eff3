"""The request bodies and sizes, as pure functions of an alert and a position read."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from executor.domain import Alert
from executor.errors import JobFailed
from executor.venues.bitget import orders
from executor.venues.bitget.positions import to_position


def position(side="long", total="10", mode="one_way_mode", margin="crossed"):
    return to_position({"symbol": "BTCUSDT", "holdSide": side, "total": total, "available": total,
                        "posMode": mode, "marginMode": margin})


def alert(**fields):
    return Alert(venue="bitget", action=fields.pop("action", "close"), symbol="BTCUSDT", **fields)


def test_client_oid_is_stable_per_job_and_action_and_fits_bitgets_limits():
    key = "alert-" + "f" * 32
    first, again = orders.client_oid(key, "reverse"), orders.client_oid(key, "reverse")
    assert first == again and first.startswith("rev-")
    assert orders.client_oid(key, "close") != first and orders.client_oid("alert-other", "reverse") != first
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", first)


def test_ratio_rounds_down_to_the_decimal_places_the_venue_wrote_the_size_with():
    assert orders.close_size(alert(ratio=Decimal("0.5")), position(total="0.015")) == Decimal("0.007")
    assert orders.close_size(alert(ratio=Decimal("0.5")), position(total="0.0150")) == Decimal("0.0075")
    with pytest.raises(JobFailed, match="rounds down to 0"):
        orders.close_size(alert(ratio=Decimal("0.5")), position(total="1"))


def test_one_way_reduce_only_closes_with_the_opposite_side_in_the_positions_margin_mode():
    body = orders.reduce_body(position("short", margin="isolated"), Decimal("2.50"), "cls-x")
    assert body == {"symbol": "BTCUSDT", "marginMode": "isolated", "size": "2.5", "side": "buy",
                    "reduceOnly": "YES", "orderType": "market", "clientOid": "cls-x"}


def test_hedge_reverse_of_a_short_is_sell_with_trade_side_and_keeps_a_larger_qty():
    hedged = position("short", total="3", mode="hedge_mode")
    size = orders.reverse_size(alert(action="reverse", qty=Decimal("5")), hedged)
    assert orders.reverse_body(alert(action="reverse"), hedged, size, "rev-x") == {
        "symbol": "BTCUSDT", "size": "5", "side": "sell", "tradeSide": "Open", "clientOid": "rev-x"}


def test_sizes_are_written_without_exponent():
    assert orders.plain(Decimal("1E+2")) == "100" and orders.plain(Decimal("0.0100")) == "0.01"
