"""Bitget signing against values computed independently with openssl, the headers sent, and over HTTP."""
from __future__ import annotations

import base64
import hashlib
import hmac

from executor.simulator import DEMO_BITGET_API_KEY, DEMO_BITGET_PASSPHRASE, DEMO_BITGET_SECRET_KEY
from executor.venues.bitget.client import BitgetClient
from executor.venues.bitget.signing import canonical_query, sign, signature_payload, signed_headers, signed_query
from executor.venues.transport import Request, Transport
from tests.bitget.helpers import ORDER_DETAIL

SECRET = "test-secret-key"
TIMESTAMP = "1700000000000"
QUERY = "marginCoin=USDT&productType=USDT-FUTURES&symbol=BTCUSDT"
BODY = ('{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","size":"0.01","side":"sell",'
        '"clientOid":"rev-0123456789abcdef0123456789abcdef"}')

# printf '%s' '1700000000000GET/api/v2/mix/position/single-position?marginCoin=USDT&productType=USDT-FUTURES&symbol=BTCUSDT' \
#   | openssl dgst -sha256 -hmac 'test-secret-key' -binary | base64
GET_SIGNATURE = "5AV6D3AX8LnMvZHu8iS3VapIKj3yEwM6ZxO64aVh/Yc="

# printf '%s' '1700000000000POST/api/v2/mix/order/click-backhand<BODY above>' \
#   | openssl dgst -sha256 -hmac 'test-secret-key' -binary | base64
POST_SIGNATURE = "uPRrhNNrhCnXeDrZp6q+qnmawrJ2SZT8fBfKmOByHkg="


def test_a_get_signs_the_sorted_query_after_a_question_mark_as_openssl_computes_it():
    query = canonical_query({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT"})
    assert query == QUERY
    assert sign(SECRET, TIMESTAMP, "GET", "/api/v2/mix/position/single-position", query) == GET_SIGNATURE


def test_a_post_signs_the_body_text_as_sent_as_openssl_computes_it():
    assert sign(SECRET, TIMESTAMP, "post", "/api/v2/mix/order/click-backhand", "", BODY) == POST_SIGNATURE


def test_the_payload_has_no_question_mark_without_a_query_and_empty_values_are_left_out():
    assert signature_payload(TIMESTAMP, "get", "/api/v2/public/time") == f"{TIMESTAMP}GET/api/v2/public/time"
    assert canonical_query({"symbol": "BTCUSDT", "orderId": "", "clientOid": "c1"}) == "clientOid=c1&symbol=BTCUSDT"


def test_the_headers_carry_key_sign_timestamp_passphrase_json_and_locale():
    headers = signed_headers("key-1", SECRET, "phrase", TIMESTAMP, "POST", "/api/v2/mix/order/click-backhand",
                             "", BODY)
    assert headers == {"ACCESS-KEY": "key-1", "ACCESS-SIGN": POST_SIGNATURE, "ACCESS-TIMESTAMP": TIMESTAMP,
                       "ACCESS-PASSPHRASE": "phrase", "Content-Type": "application/json", "locale": "en-US"}


#: A clientOid Bitget's pattern allows whose characters need encoding in a query.
ODD_OID = "cls:7#a+b"
ODD_PARAMS = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "clientOid": ODD_OID}

# printf '%s' '1700000000000GET/api/v2/mix/order/detail?clientOid=cls:7#a+b&productType=USDT-FUTURES&symbol=BTCUSDT' \
#   | openssl dgst -sha256 -hmac 'test-secret-key' -binary | base64
ODD_SIGNATURE = "jTrHX7HPumlPH79Bh/KElJhDxWk7hYf7uFrweiJGIUs="


def test_a_value_that_needs_encoding_is_encoded_on_the_wire_and_signed_unencoded_as_ccxt_signs_it():
    assert canonical_query(ODD_PARAMS) == "clientOid=cls%3A7%23a%2Bb&productType=USDT-FUTURES&symbol=BTCUSDT"
    assert canonical_query({"a": "x y"}) == "a=x%20y"
    assert signed_query(ODD_PARAMS) == f"clientOid={ODD_OID}&productType=USDT-FUTURES&symbol=BTCUSDT"
    assert sign(SECRET, TIMESTAMP, "GET", ORDER_DETAIL, signed_query(ODD_PARAMS)) == ODD_SIGNATURE


def test_for_plain_values_the_signed_and_the_sent_query_are_the_same_text():
    params = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginCoin": "USDT", "clientOid": "rev-0a1"}
    assert signed_query(params) == canonical_query(params)


def test_an_order_whose_client_oid_needs_encoding_is_found_over_http_signed_as_the_venue_verifies(sim):
    sent: list[Request] = []
    client = BitgetClient(sim.base_url, DEMO_BITGET_API_KEY, DEMO_BITGET_SECRET_KEY, DEMO_BITGET_PASSPHRASE,
                          Transport(before_send=lambda venue, credential, request: sent.append(request)))
    sim.open("long", "2")
    placed = client.place_order({"symbol": "BTCUSDT", "marginMode": "crossed", "size": "1", "side": "sell",
                                 "reduceOnly": "YES", "orderType": "market", "clientOid": ODD_OID})
    found = client.order_detail("BTCUSDT", client_oid=ODD_OID)
    assert found is not None and found["orderId"] == placed["orderId"] and found["clientOid"] == ODD_OID
    lookup = sent[-1]
    wire = "clientOid=cls%3A7%23a%2Bb&productType=USDT-FUTURES&symbol=BTCUSDT"
    assert lookup.url == f"{sim.base_url}{ORDER_DETAIL}?{wire}"
    payload = f"{lookup.headers['ACCESS-TIMESTAMP']}GET{ORDER_DETAIL}?clientOid={ODD_OID}&productType=USDT-FUTURES" \
              "&symbol=BTCUSDT"
    assert lookup.headers["ACCESS-SIGN"] == base64.b64encode(
        hmac.new(DEMO_BITGET_SECRET_KEY.encode(), payload.encode(), hashlib.sha256).digest()).decode()
