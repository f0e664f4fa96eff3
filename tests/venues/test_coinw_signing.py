"""CoinW signing against values computed independently of the product's code, and over HTTP."""
from __future__ import annotations

import base64
import hashlib
import hmac

from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY
from executor.venues.coinw.client import CoinWClient
from executor.venues.coinw.signing import query_string, sign
from executor.venues.transport import Request, Transport
from tests.coinw import open_position, venue_requests

# Computed once with: printf '%s' "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | base64
SECRET = "6f1c0ffee"
GET_PAYLOAD_SIGNATURE = "jBvVFp1cg9zF8W+vU38KBaK8NuOfi2NV1NgclI9dres="
POST_PAYLOAD_SIGNATURE = "OhvWdyIJ7aOmxGmmN0xStS7twGH5XMANwx/DPT6DQNQ="


def test_get_signs_timestamp_method_path_and_query_as_sent():
    # payload: 1700000000000GET/v1/perpum/positions?instrument=BTC&openIds=2,1
    assert sign(SECRET, "1700000000000", "get", "/v1/perpum/positions", "instrument=BTC&openIds=2,1") \
        == GET_PAYLOAD_SIGNATURE


def test_post_signs_the_compact_json_body_as_sent():
    # payload: 1700000000000POST/v1/perpum/positions/reverse{"id":123}
    assert sign(SECRET, "1700000000000", "POST", "/v1/perpum/positions/reverse", body='{"id":123}') \
        == POST_PAYLOAD_SIGNATURE


def test_delete_signs_its_body_like_post():
    body = '{"id":123,"positionType":"execute","closeRate":"1"}'
    assert sign(SECRET, "1", "DELETE", "/p", body=body) != sign(SECRET, "1", "DELETE", "/p")


# payload: 1700000000000GET/v1/perpum/positions?instrument=BTC&openIds=11,12 (the comma as is)
OPEN_IDS_SIGNATURE = "zc4Mj77Eqm8OU6qjT1HzkzTU0WZOj9ak59wZ7e+eHZs="


def test_the_query_keeps_its_commas_and_encodes_what_must_be_encoded():
    assert query_string({"instrument": "BTC", "openIds": "11,12"}) == "instrument=BTC&openIds=11,12"
    assert query_string({"instrument": "a b&c=d/e+f%"}) == "instrument=a%20b%26c%3Dd%2Fe%2Bf%25"


def test_open_ids_are_signed_with_the_comma_unencoded_as_the_independent_client_signs_them():
    query = query_string({"instrument": "BTC", "openIds": "11,12"})
    assert sign(SECRET, "1700000000000", "GET", "/v1/perpum/positions", query) == OPEN_IDS_SIGNATURE


def test_several_open_ids_go_on_the_wire_and_into_the_signature_as_the_independent_client_sends_them(simulator):
    first = open_position(simulator, "long", "3")["id"]
    second = open_position(simulator, "short", "2")["id"]
    open_position(simulator, "long", "5")
    sent: list[Request] = []
    client = CoinWClient(simulator.base_url, DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY,
                         Transport(before_send=lambda venue, credential, request: sent.append(request)))
    found = client.positions("BTC", [str(first), str(second)])
    assert sorted(row["id"] for row in found) == sorted([first, second])  # the simulator took the signature
    (request,) = sent
    query = f"instrument=BTC&openIds={first},{second}"
    assert request.url == f"{simulator.base_url}/v1/perpum/positions?{query}"
    payload = request.headers["timestamp"] + "GET/v1/perpum/positions?" + query
    assert request.headers["sign"] == base64.b64encode(
        hmac.new(DEMO_COINW_SECRET_KEY.encode(), payload.encode(), hashlib.sha256).digest()).decode()
    (logged,) = venue_requests(simulator, "/v1/perpum/positions")
    assert logged["query"] == query and logged["status"] == 200
