"""Injected faults: each kind, with the action performed or not as specified."""
from __future__ import annotations

import time

import pytest
import requests

REVERSE_PATH = "/v1/perpum/positions/reverse"


def _reversed(coinw) -> bool:
    return coinw.positions()[0]["direction"] == "short"


@pytest.fixture
def position_id(control) -> int:
    return control.open_position("long", "10")["id"]


def test_latency_before_delays_then_performs(coinw, control, position_id):
    control.fault(kind="latency", latency_ms=150, when="before", path=REVERSE_PATH)
    started = time.monotonic()
    assert coinw.reverse(position_id).json()["code"] == 0
    assert time.monotonic() - started >= 0.15
    assert _reversed(coinw)


def test_latency_after_times_the_client_out_after_the_action(coinw, control, position_id):
    control.fault(kind="latency", latency_ms=1000, when="after", path=REVERSE_PATH)
    with pytest.raises(requests.exceptions.ReadTimeout):
        coinw.request("POST", REVERSE_PATH, body={"id": position_id}, timeout=0.3)
    assert _reversed(coinw)


def test_http_error_before_answers_bare_5xx_without_action(coinw, control, position_id):
    control.fault(kind="http_error", status=503, when="before")
    reply = coinw.reverse(position_id)
    assert reply.status_code == 503
    assert "json" not in reply.headers["Content-Type"]
    assert not _reversed(coinw)


def test_http_error_after_answers_bare_5xx_with_action(coinw, control, position_id):
    control.fault(kind="http_error", status=502, when="after", method="POST")
    assert coinw.reverse(position_id).status_code == 502
    assert _reversed(coinw)


def test_drop_before_gives_connection_error_without_action(coinw, control, position_id):
    control.fault(kind="drop", when="before", path=REVERSE_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        coinw.reverse(position_id)
    assert not _reversed(coinw)
    assert control.orders() == []


def test_drop_after_gives_connection_error_with_action(coinw, control, position_id):
    control.fault(kind="drop", when="after", path=REVERSE_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        coinw.reverse(position_id)
    assert _reversed(coinw)
    [entry] = [r for r in control.requests() if r["path"] == REVERSE_PATH]
    assert (entry["fault"], entry["status"], entry["code"], entry["answered_at"]) == ("drop", None, 0, None)


def test_drop_on_a_read_gives_connection_error(coinw, control):
    control.fault(kind="drop", method="GET")
    with pytest.raises(requests.exceptions.ConnectionError):
        coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC")
    assert coinw.positions() == []


def test_rate_limit_fault_answers_429_29001_without_action(coinw, control, position_id):
    control.fault(kind="rate_limit", path=REVERSE_PATH)
    reply = coinw.reverse(position_id)
    assert (reply.status_code, reply.json()["code"]) == (429, 29001)
    assert not _reversed(coinw)
    entry = [r for r in control.requests() if r["path"] == REVERSE_PATH][0]
    assert entry["rate_limited"] is True and entry["fault"] == "rate_limit"


def test_funding_fault_rejects_without_action(coinw, control, position_id):
    control.fault(kind="funding")
    reply = coinw.close(id=position_id, closeNum="1")
    assert reply.status_code == 200
    assert reply.json()["code"] == 9003 and "funding" in reply.json()["msg"]
    assert coinw.positions()[0]["currentPiece"] == "10"


def test_funding_fault_code_can_be_overridden(coinw, control, position_id):
    control.fault(kind="funding", code=12345, message="settling")
    assert coinw.reverse(position_id).json() == {"code": 12345, "data": None, "msg": "settling"}


def test_reject_fault_answers_given_envelope_without_action(coinw, control, position_id):
    control.fault(kind="reject", code=6003, message="no permission", status=200)
    reply = coinw.reverse(position_id)
    assert reply.json() == {"code": 6003, "data": None, "msg": "no permission"}
    assert not _reversed(coinw)


def test_reject_fault_after_performs_the_action_then_answers_the_envelope(coinw, control, position_id):
    control.fault(kind="reject", when="after", code=6003, message="timed out", status=408, path=REVERSE_PATH)
    reply = coinw.reverse(position_id)
    assert (reply.status_code, reply.json()) == (408, {"code": 6003, "data": None, "msg": "timed out"})
    assert _reversed(coinw)
    [entry] = [r for r in control.requests() if r["path"] == REVERSE_PATH]
    assert (entry["fault"], entry["status"], entry["code"]) == ("reject", 408, 0)  # the code of what was done


def test_rate_limit_fault_can_answer_the_venues_other_form_a_body_code_429(coinw, control, position_id):
    control.fault(kind="rate_limit", code=429, message="too many requests", status=200, path=REVERSE_PATH)
    reply = coinw.reverse(position_id)
    assert (reply.status_code, reply.json()) == (200, {"code": 429, "data": None, "msg": "too many requests"})
    assert not _reversed(coinw)
    [entry] = [r for r in control.requests() if r["path"] == REVERSE_PATH]
    assert entry["rate_limited"] is True and entry["code"] == 429


def test_fault_count_is_used_up_then_requests_succeed(coinw, control, position_id):
    control.fault(kind="http_error", count=2, path=REVERSE_PATH)
    assert coinw.reverse(position_id).status_code == 503
    assert control.get("/faults")["faults"][0]["count"] == 1
    assert coinw.reverse(position_id).status_code == 503
    assert control.get("/faults")["faults"] == []
    assert coinw.reverse(position_id).json()["code"] == 0


def test_fault_without_count_lasts_until_cleared(coinw, control, position_id):
    control.fault(kind="http_error", count=None, path=REVERSE_PATH)
    for _ in range(3):
        assert coinw.reverse(position_id).status_code == 503
    assert requests.delete(control.base_url + "/faults", timeout=5).status_code == 200
    assert coinw.reverse(position_id).json()["code"] == 0


def test_fault_only_hits_its_path_and_method(coinw, control, position_id):
    control.fault(kind="http_error", path=REVERSE_PATH, method="POST")
    assert coinw.positions()[0]["id"] == position_id
    assert coinw.close(id=position_id, closeNum="1").json()["code"] == 0
    assert coinw.reverse(position_id).status_code == 503


def test_malformed_fault_is_refused(control):
    for bad in ({"kind": "explode"}, {"kind": "latency"}, {"kind": "http_error", "status": 404},
                {"kind": "reject"}, {"kind": "drop", "when": "during"}, {"kind": "drop", "count": 0},
                {"kind": "reject", "code": 1, "status": 99}, {"kind": "rate_limit", "code": True}):
        reply = requests.post(control.base_url + "/faults", json={"venue": "coinw", **bad}, timeout=5)
        assert reply.status_code == 400, bad
    reply = requests.post(control.base_url + "/faults", json={"venue": "nowhere", "kind": "drop"},
                          timeout=5)
    assert reply.status_code == 400
