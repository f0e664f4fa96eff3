"""CoinW signing against values computed independently of the product's code."""
from __future__ import annotations

from executor.venues.coinw.signing import sign

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
