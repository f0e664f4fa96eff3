"""CoinW per-endpoint limits on the simulator clock, and the stats that measure them."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

REVERSE = "POST /v1/perpum/positions/reverse"
POSITIONS = "GET /v1/perpum/positions"


def _reverse_five_times(coinw, position_id: int) -> int:
    for _ in range(5):
        assert coinw.reverse(position_id).json()["code"] == 0
        position_id = coinw_positions_id(coinw)
    return position_id


def coinw_positions_id(coinw) -> int:
    # Listing positions has its own limit (10/s): reads here stay under it.
    [position] = coinw.positions()
    return position["id"]


def test_sixth_reverse_within_a_second_answers_429_and_does_nothing(coinw, control, clock):
    position_id = _reverse_five_times(coinw, control.open_position("long", "10")["id"])
    before = coinw.positions()
    reply = coinw.reverse(position_id)
    assert reply.status_code == 429
    assert reply.json() == {"code": 29001, "data": None, "msg": "too many requests"}
    assert coinw.positions() == before
    assert len(control.orders()) == 5
    assert control.requests()[-2]["rate_limited"] is True


def test_quota_comes_back_when_the_window_slides(coinw, control, clock):
    position_id = _reverse_five_times(coinw, control.open_position()["id"])
    clock.advance(0.999)
    assert coinw.reverse(position_id).status_code == 429
    clock.advance(0.001)
    assert coinw.reverse(position_id).json()["code"] == 0


def test_limits_are_per_api_key(coinw, control, client_for):
    control.post("/credentials", {"venue": "coinw", "api_key": "k2", "secret_key": "s2"})
    other = client_for("k2", "s2")
    for _ in range(5):
        coinw.reverse(1)
    assert coinw.reverse(1).status_code == 429
    assert other.reverse(1).json()["code"] == 9002


def test_limits_are_per_endpoint(coinw):
    for _ in range(5):
        coinw.reverse(1)
    assert coinw.reverse(1).status_code == 429
    assert coinw.close(id=1, closeNum="1").json()["code"] == 9002


def test_positions_read_limit_is_10_per_second(coinw):
    for _ in range(10):
        coinw.positions()
    reply = coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC")
    assert (reply.status_code, reply.json()["code"]) == (429, 29001)


def test_no_429_when_enforcement_is_off(coinw, control):
    control.post("/config", {"enforce_limits": False})
    for _ in range(8):
        assert coinw.reverse(1).status_code == 200


def test_stats_max_in_window_with_enforcement_on(coinw, control, clock):
    for _ in range(7):
        coinw.reverse(1)
    clock.advance(0.5)
    coinw.reverse(1)
    stats = control.get("/stats", venue="coinw")
    assert stats["per_endpoint"][REVERSE] == {"count": 8, "rate_limited": 3}
    assert stats["per_path"]["/v1/perpum/positions/reverse"] == 8
    assert stats["max_in_window"][REVERSE] == {"limit": 5, "period_s": 1.0, "max": 5, "exceeded": False}
    assert stats["max_in_window"][POSITIONS]["max"] == 0


def test_stats_max_in_window_reports_excess_with_enforcement_off(coinw, control, clock):
    control.post("/config", {"enforce_limits": False})
    for _ in range(4):
        coinw.positions()
    clock.advance(0.6)
    for _ in range(8):
        coinw.positions()
    clock.advance(0.6)
    coinw.positions()
    busiest = control.get("/stats", venue="coinw")["max_in_window"][POSITIONS]
    assert busiest == {"limit": 10, "period_s": 1.0, "max": 12, "exceeded": True}


def test_rejected_authentication_does_not_use_quota(coinw, client_for):
    stranger = client_for("nobody", "x")
    for _ in range(6):
        stranger.reverse(1)
    assert coinw.reverse(1).json()["code"] == 9002


def test_concurrent_requests_never_exceed_the_limit(coinw, control):
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: coinw.reverse(1).status_code, range(12)))
    assert statuses.count(429) == 7 and statuses.count(200) == 5
    assert control.get("/stats", venue="coinw")["max_in_window"][REVERSE]["max"] == 5
