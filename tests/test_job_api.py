"""GET /jobs/<id>, what POST /jobs/<id>/replay refuses to read, and GET /healthz."""
from __future__ import annotations

import dataclasses

import pytest

from executor.app import create_app
from executor.localredis import free_port
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def queue_alert(client, **fields):
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}
    answer = client.post("/webhook", json=body)
    assert answer.status_code == 202, answer.json
    return answer.json["job_id"]


def test_job_api_shows_a_queued_job_with_its_alert(client):
    job_id = queue_alert(client, id="api-1")
    view = client.get(f"/jobs/{job_id}", headers=AUTH).json
    assert view["job_id"] == job_id and view["status"] == "queued"
    assert view["alert"]["id"] == "api-1" and view["received_at"] and view["enqueued_at"]
    assert view["attempts"] == [] and view["result"] is None and view["error"] is None


def test_job_api_needs_the_bearer_token(client):
    job_id = queue_alert(client)
    assert client.get(f"/jobs/{job_id}").status_code == 401
    assert client.get(f"/jobs/{job_id}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"/jobs/{job_id}", headers={"Authorization": ADMIN_TOKEN}).status_code == 401


def test_job_api_is_404_when_no_admin_token_is_configured(settings, redis, clock):
    client = create_app(dataclasses.replace(settings, admin_token=None), clock=clock).test_client()
    job_id = queue_alert(client)
    assert client.get(f"/jobs/{job_id}", headers=AUTH).status_code == 404


def test_unknown_job_is_404(client):
    answer = client.get("/jobs/alert-missing", headers=AUTH)
    assert answer.status_code == 404 and "alert-missing" in answer.json["error"]


@pytest.mark.parametrize("job_id", ["a b", "%00", "\u00e9t\u00e9"])
def test_an_id_no_job_can_have_is_404_naming_it_for_show_and_replay(client, job_id):
    for answer in (client.get(f"/jobs/{job_id}", headers=AUTH), client.post(f"/jobs/{job_id}/replay", headers=AUTH)):
        assert answer.status_code == 404, answer.data
        assert "no job" in answer.json["error"]


@pytest.mark.parametrize("body", [b'{"force":' * 5000 + b"true" + b"}" * 5000, b"[" * 50000, b"\xff", b"null"])
def test_a_replay_body_that_cannot_be_read_is_400_saying_what_is_expected(client, body):
    job_id = queue_alert(client)
    answer = client.post(f"/jobs/{job_id}/replay", data=body, headers=AUTH, content_type="application/json")
    assert answer.status_code == 400
    assert '{"force": true|false}' in answer.json["error"]


def test_healthz_is_200_when_redis_answers(client):
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_when_redis_is_down(settings, clock):
    down = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert create_app(down, clock=clock).test_client().get("/healthz").status_code == 503
