"""CoinW position endpoints: list, reverse, close (market, rate, plan), close all."""
from __future__ import annotations


def _code(reply) -> int:
    return reply.json()["code"]


def test_get_positions_shows_venue_fields_with_decimal_string_sizes(coinw, control, clock):
    opened = control.open_position("long", "10")
    [position] = coinw.positions("btc")
    assert position == opened
    assert isinstance(position["id"], int) and len(str(position["id"])) == 19
    assert position["instrument"] == "BTC"
    assert position["direction"] == "long"
    assert position["currentPiece"] == "10" and position["totalPiece"] == "10"
    assert position["status"] == "open"
    assert position["positionModel"] == 1 and position["leverage"] == 10
    assert position["createdDate"] == int(clock() * 1000)


def test_get_positions_filters_by_instrument_and_open_ids(coinw, control):
    first = control.open_position("long", "1")
    second = control.open_position("short", "2")
    control.open_position("long", "3", instrument="ETH")
    assert [p["id"] for p in coinw.positions("BTC")] == [first["id"], second["id"]]
    assert [p["id"] for p in coinw.positions("BTC", ids=str(second["id"]))] == [second["id"]]
    both = f"{first['id']},{second['id']}"
    assert len(coinw.positions("BTC", ids=both)) == 2
    assert coinw.positions("BTC", ids="12345") == []


def test_open_ids_accept_url_encoded_commas(coinw, control):
    first, second = control.open_position(), control.open_position()
    query = f"instrument=BTC&openIds={first['id']}%2C{second['id']}"
    assert len(coinw.request("GET", "/v1/perpum/positions", query=query).json()["data"]) == 2


def test_more_than_20_open_ids_is_rejected(coinw):
    ids = ",".join(str(n) for n in range(1, 22))
    reply = coinw.request("GET", "/v1/perpum/positions", query=f"instrument=BTC&openIds={ids}")
    assert _code(reply) == 9001


def test_get_positions_without_instrument_answers_402(coinw):
    assert _code(coinw.request("GET", "/v1/perpum/positions")) == 402


def test_positions_are_kept_per_api_key(coinw, control, client_for):
    control.post("/credentials", {"venue": "coinw", "api_key": "other", "secret_key": "x"})
    control.open_position(api_key="other")
    assert coinw.positions() == []
    assert len(client_for("other", "x").positions()) == 1


def test_reverse_opens_same_size_opposite_direction_under_new_id(coinw, control):
    old = control.open_position("long", "7")
    reply = coinw.reverse(old["id"]).json()
    assert reply["code"] == 0 and isinstance(reply["data"], str) and reply["data"].isdigit()
    [new] = coinw.positions()
    assert new["id"] != old["id"]
    assert new["direction"] == "short" and new["currentPiece"] == "7"
    [order] = control.orders()
    assert order["id"] == reply["data"] and order["type"] == "reverse"
    assert order["position_ids"] == [str(old["id"]), str(new["id"])]
    assert order["size"] == "7"


def test_reverse_accepts_id_as_digit_string(coinw, control):
    old = control.open_position("short", "2")
    assert _code(coinw.reverse(str(old["id"]))) == 0
    assert coinw.positions()[0]["direction"] == "long"


def test_reverse_of_closed_or_unknown_id_answers_9002(coinw, control):
    old = control.open_position()
    assert _code(coinw.reverse(old["id"])) == 0
    assert _code(coinw.reverse(old["id"])) == 9002
    assert _code(coinw.reverse(99)) == 9002


def test_reverse_without_id_answers_402(coinw):
    assert _code(coinw.request("POST", "/v1/perpum/positions/reverse", body={})) == 402


def test_close_num_partial_then_full(coinw, control):
    position = control.open_position("long", "10")
    reply = coinw.close(id=position["id"], closeNum="4").json()
    assert reply["code"] == 0 and reply["data"].isdigit()
    [left] = coinw.positions()
    assert (left["id"], left["currentPiece"], left["totalPiece"]) == (position["id"], "6", "10")
    assert _code(coinw.close(id=position["id"], closeNum=6)) == 0
    assert coinw.positions() == []
    assert [o["type"] for o in control.orders()] == ["market_close", "market_close"]


def test_close_num_above_position_is_rejected_and_changes_nothing(coinw, control):
    position = control.open_position("long", "3")
    assert _code(coinw.close(id=position["id"], closeNum="4")) == 9001
    assert _code(coinw.close(id=position["id"], closeNum="0")) == 9001
    assert coinw.positions()[0]["currentPiece"] == "3"


def test_close_rate_applies_to_current_piece(coinw, control):
    position = control.open_position("short", "10")
    assert _code(coinw.close(id=position["id"], closeRate=0.5)) == 0
    assert coinw.positions()[0]["currentPiece"] == "5"
    assert _code(coinw.close(id=position["id"], closeRate="1")) == 0
    assert coinw.positions() == []


def test_close_rate_out_of_range_is_rejected(coinw, control):
    position = control.open_position()
    assert _code(coinw.close(id=position["id"], closeRate="1.5")) == 9001
    assert _code(coinw.close(id=position["id"], closeRate="0")) == 9001


def test_plan_close_is_recorded_and_position_unchanged(coinw, control):
    position = control.open_position("long", "10")
    reply = coinw.close(id=position["id"], positionType="plan", closeNum="2", orderPrice="70000").json()
    assert reply["code"] == 0
    assert coinw.positions() == [position]
    [order] = control.get("/orders", venue="coinw", type="plan_close")["orders"]
    assert order["id"] == reply["data"] and order["status"] == "pending"
    assert order["price"] == "70000" and order["size"] == "2"


def test_plan_close_without_order_price_answers_402(coinw, control):
    position = control.open_position()
    assert _code(coinw.close(id=position["id"], positionType="plan", closeNum="1")) == 402


def test_order_price_without_plan_is_rejected(coinw, control):
    position = control.open_position()
    assert _code(coinw.close(id=position["id"], closeNum="1", orderPrice="1")) == 9001
    assert coinw.positions()[0]["currentPiece"] == "10"


def test_close_num_and_close_rate_together_are_rejected(coinw, control):
    position = control.open_position()
    reply = coinw.close(id=position["id"], closeNum="1", closeRate="0.5").json()
    assert reply["code"] == 9001 and "mutually exclusive" in reply["msg"]
    assert coinw.positions()[0]["currentPiece"] == "10"


def test_close_without_amount_answers_402(coinw, control):
    position = control.open_position()
    assert _code(coinw.close(id=position["id"])) == 402


def test_close_without_id_answers_402(coinw):
    assert _code(coinw.close(closeNum="1")) == 402


def test_close_unknown_position_answers_9002(coinw):
    assert _code(coinw.close(id=123, closeNum="1")) == 9002


def test_close_all_closes_every_position_of_the_instrument_only(coinw, control):
    control.open_position("long", "1")
    control.open_position("short", "2")
    control.open_position("long", "3", instrument="ETH")
    reply = coinw.request("DELETE", "/v1/perpum/allpositions", body={"instrument": "btc"}).json()
    assert reply["code"] == 0 and reply["data"].isdigit()
    assert coinw.positions("BTC") == []
    assert len(coinw.positions("ETH")) == 1
    [order] = control.orders()
    assert order["type"] == "close_all" and order["size"] == "3" and len(order["position_ids"]) == 2


def test_close_all_without_instrument_answers_402(coinw):
    assert _code(coinw.request("DELETE", "/v1/perpum/allpositions", body={})) == 402


def test_unknown_path_answers_wrong_url(coinw):
    reply = coinw.request("GET", "/v1/perpum/nothing")
    assert reply.json() == {"code": 500, "data": None, "msg": "wrong URL"}
    assert _code(coinw.request("PUT", "/v1/perpum/positions", body={})) == 500


def test_wrapped_order_id_and_message_field_options(coinw, control):
    control.post("/config", {"venue_options": {"coinw": {"wrap_order_id": True,
                                                          "message_field": "message"}}})
    position = control.open_position()
    reply = coinw.reverse(position["id"]).json()
    assert set(reply) == {"code", "data", "message"}
    assert reply["data"]["value"].isdigit()
