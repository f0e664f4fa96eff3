"""The request bodies and sizes, as pure functions of an alert and a position read."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from executor.domain import Alert
from executor.errors import JobFailed
from executor.venues.bitget import orders, sizes
from executor.venues.bitget.contracts import ContractSpec
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


def spec(volume_place=4, multiplier="0.0001", minimum="0.0001"):
    return ContractSpec("BTCUSDT", volume_place, Decimal(multiplier), Decimal(minimum))


@pytest.mark.parametrize("volume_place, multiplier, step", [
    (4, "0.0001", "0.0001"), (2, "0.01", "0.01"), (0, "1", "1"), (0, "10", "10"),
    (3, "0.005", "0.005"), (2, "0.005", "0.01"),  # a multiple of 0.005 within 2 decimals
    (4, "0", "0.0001"),  # no multiplier: the decimals alone
])
def test_the_step_is_the_finest_multiple_of_size_multiplier_within_volume_place(volume_place, multiplier, step):
    assert spec(volume_place, multiplier).step == Decimal(step)


def test_a_ratio_rounds_down_to_the_contracts_step_however_the_position_is_written():
    assert sizes.close_size(alert(ratio=Decimal("0.5")), position(total="0.01"), spec()) == Decimal("0.005")
    assert sizes.close_size(alert(ratio=Decimal("0.5")), position(total="0.035"), spec(2, "0.01", "0.01")) \
        == Decimal("0.01")
    assert sizes.close_size(alert(ratio=Decimal("0.33")), position(total="25"), spec(0, "5", "5")) == Decimal("5")


def test_a_qty_is_rounded_down_to_the_step_too():
    assert sizes.close_size(alert(qty=Decimal("0.01234")), position(total="1"), spec(2, "0.01", "0.01")) \
        == Decimal("0.01")


@pytest.mark.parametrize("fields, total, rules", [
    ({"ratio": Decimal("0.5")}, "1", spec(0, "1", "1")),  # 0.5 rounds down to 0
    ({"ratio": Decimal("0.2")}, "0.0003", spec()),  # 0.00006 rounds down to 0
    ({"qty": Decimal("0.015")}, "1", spec(2, "0.01", "0.02")),  # 0.01 is under the minimum 0.02
])
def test_a_size_under_the_minimum_after_rounding_is_refused_naming_step_and_minimum(fields, total, rules):
    with pytest.raises(JobFailed, match="under the contract's minimum size") as raised:
        sizes.close_size(alert(**fields), position(total=total), rules)
    assert f"step {orders.plain(rules.step)}" in str(raised.value) and "nothing was sent" in str(raised.value)


def test_one_way_reduce_only_closes_with_the_opposite_side_in_the_positions_margin_mode():
    body = orders.reduce_body(position("short", margin="isolated"), Decimal("2.50"), "cls-x")
    assert body == {"symbol": "BTCUSDT", "marginMode": "isolated", "size": "2.5", "side": "buy",
                    "reduceOnly": "YES", "orderType": "market", "clientOid": "cls-x"}


def test_hedge_reverse_of_a_short_is_sell_with_trade_side_and_keeps_a_larger_qty():
    hedged = position("short", total="3", mode="hedge_mode")
    size = sizes.reverse_size(alert(action="reverse", qty=Decimal("5")), hedged, spec())
    assert orders.reverse_body(alert(action="reverse"), hedged, size, "rev-x") == {
        "symbol": "BTCUSDT", "size": "5", "side": "sell", "tradeSide": "Open", "clientOid": "rev-x"}


def test_sizes_are_written_without_exponent():
    assert orders.plain(Decimal("1E+2")) == "100" and orders.plain(Decimal("0.0100")) == "0.01"
