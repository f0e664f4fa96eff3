"""CoinW authentication: signature, api key, timestamp window."""
from __future__ import annotations

import base64
import hashlib
import hmac

import requests

# Known answer, computed by hand once:
#   Base64(HMAC-SHA256("demo-coinw-secret",
#          "1700000000000" + "GET" + "/v1/perpum/positions" + "?instrument=BTC"))
KNOWN_TIMESTAMP = "1700000000000"
KNOWN_SIGN = "tWyOnD+P+m2FQKd/3XGCdd7d0ZHYWSgfdwLJ1+U1XNk="
# Same secret and timestamp, "POST" + "/v1/perpum/positions/reverse" + '{"id":1}'
KNOWN_POST_SIGN = "lXjIlr0OjdMywkUe9jAZz/8CY/PHJEkggTpB1h8tqIM="


def _hand_sign(message: str) -> str:
    digest = hmac.new(b"demo-coinw-secret", message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_known_answer_vector_matches_hand_computation():
    assert _hand_sign(f"{KNOWN_TIMESTAMP}GET/v1/perpum/positions?instrument=BTC") == KNOWN_SIGN
    assert _hand_sign(f'{KNOWN_TIMESTAMP}POST/v1/perpum/positions/reverse{{"id":1}}') == KNOWN_POST_SIGN


def test_known_answer_signature_is_accepted(coinw, clock):
    assert int(clock() * 1000) == int(KNOWN_TIMESTAMP)
    reply = coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                          timestamp=KNOWN_TIMESTAMP, sign=KNOWN_SIGN)
    assert reply.status_code == 200
    assert reply.json() == {"code": 0, "data": [], "msg": ""}


def test_known_answer_post_signature_is_accepted_then_position_lookup_fails(coinw):
    reply = coinw.request("POST", "/v1/perpum/positions/reverse", body='{"id":1}',
                          timestamp=KNOWN_TIMESTAMP, sign=KNOWN_POST_SIGN)
    assert reply.json()["code"] == 9002


def test_one_character_change_in_sign_answers_6001(coinw):
    tampered = KNOWN_SIGN[:5] + ("A" if KNOWN_SIGN[5] != "A" else "B") + KNOWN_SIGN[6:]
    reply = coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                          timestamp=KNOWN_TIMESTAMP, sign=tampered)
    assert reply.json() == {"code": 6001, "data": None, "msg": "invalid signature"}


def test_sign_over_different_query_answers_6001(coinw):
    reply = coinw.request("GET", "/v1/perpum/positions", query="instrument=ETH",
                          timestamp=KNOWN_TIMESTAMP, sign=KNOWN_SIGN)
    assert reply.json()["code"] == 6001


def test_query_is_signed_as_sent_not_resorted(coinw, control):
    position = control.open_position()
    query = f"openIds={position['id']}&instrument=BTC"
    good = coinw.request("GET", "/v1/perpum/positions", query=query)
    assert [p["id"] for p in good.json()["data"]] == [position["id"]]
    stamp = str(int(coinw.clock() * 1000))
    resorted = _hand_sign(f"{stamp}GET/v1/perpum/positions?instrument=BTC&openIds={position['id']}")
    bad = coinw.request("GET", "/v1/perpum/positions", query=query, timestamp=stamp, sign=resorted)
    assert bad.json()["code"] == 6001


def test_body_is_signed_as_sent(coinw, control):
    position = control.open_position()
    spaced = '{"id": %d}' % position["id"]
    assert coinw.request("POST", "/v1/perpum/positions/reverse", body=spaced).json()["code"] == 0


def test_unknown_api_key_answers_6000(client_for):
    reply = client_for("nobody", "whatever").request("GET", "/v1/perpum/positions",
                                                     query="instrument=BTC")
    assert reply.json()["code"] == 6000
    assert reply.json()["data"] is None


def test_missing_api_key_header_answers_6000(sim):
    reply = requests.get(sim.base_url + "/v1/perpum/positions?instrument=BTC", timeout=5)
    assert reply.json()["code"] == 6000


def test_stale_timestamp_answers_6000(coinw, clock):
    stale = str(int((clock() - 31) * 1000))
    assert coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                         timestamp=stale).json()["code"] == 6000
    future = str(int((clock() + 31) * 1000))
    assert coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                         timestamp=future).json()["code"] == 6000


def test_timestamp_inside_window_is_accepted(coinw, clock):
    recent = str(int((clock() - 29) * 1000))
    assert coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                         timestamp=recent).json()["code"] == 0


def test_timestamp_window_is_configurable(coinw, clock, control):
    control.post("/config", {"timestamp_window_s": 120})
    old = str(int((clock() - 100) * 1000))
    assert coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                         timestamp=old).json()["code"] == 0


def test_timestamp_not_13_digits_answers_6000(coinw, clock):
    seconds = str(int(clock()))
    assert coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC",
                         timestamp=seconds).json()["code"] == 6000


def test_credentials_registered_through_control_api_are_accepted(control, client_for):
    control.post("/credentials", {"venue": "coinw", "api_key": "k2", "secret_key": "s2"})
    other = client_for("k2", "s2")
    assert other.positions() == []
    wrong_secret = client_for("k2", "s3")
    assert wrong_secret.request("GET", "/v1/perpum/positions",
                                query="instrument=BTC").json()["code"] == 6001
