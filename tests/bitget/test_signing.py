"""Bitget signing against values computed independently with openssl, and the headers sent."""
from __future__ import annotations

from executor.venues.bitget.signing import canonical_query, sign, signature_payload, signed_headers

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
