"""Signing in and out of the console, the session cookie, and cross-site requests refused."""
from __future__ import annotations

import dataclasses
import re

import pytest

from config.secrets import Secret
from executor.app import create_app
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET

ORIGIN = "http://localhost"
SAME_ORIGIN = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}


def sign_in(client, token=ADMIN_TOKEN, headers=SAME_ORIGIN):
    return client.post("/dashboard/sign-in", data={"token": token}, headers=headers)


def csrf_token(client) -> str:
    page = client.get("/dashboard").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


def failed_job(client, run_jobs):
    answer = client.post("/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse",
                                           "symbol": "ETH", "id": "no-position"})
    run_jobs()  # no ETH position on the simulator: the job fails
    return answer.json["job_id"]


def test_without_a_session_the_page_is_only_the_sign_in_form(client):
    client.post("/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse",
                                  "symbol": "BTC", "id": "secret-job"})
    page = client.get("/dashboard")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Admin token" in text and "Sign in" in text
    assert "secret-job" not in text and "alert-" not in text and "csrf-token" not in text
    assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]


def test_signing_in_sets_an_httponly_samesite_strict_cookie_and_shows_the_console(client):
    answer = sign_in(client)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; see the test behind a proxy
    assert ADMIN_TOKEN not in cookie
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="jobs-body"' in page and "Sign out" in page
    assert client.get("/jobs").status_code == 200 and client.get("/alerts").status_code == 200


def test_the_cookie_is_secure_behind_a_trusted_proxy_that_says_https(settings, redis, clock):
    client = create_app(dataclasses.replace(settings, trusted_proxies=1), clock=clock).test_client()
    answer = client.post("/dashboard/sign-in", data={"token": ADMIN_TOKEN}, base_url="http://console.example",
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7",
                                  "Origin": "https://console.example"})
    assert answer.status_code == 303 and "Secure" in answer.headers["Set-Cookie"]


def test_a_wrong_token_is_401_on_the_form_and_opens_no_session(client):
    answer = sign_in(client, "nope")
    assert answer.status_code == 401 and "Wrong admin token." in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers and client.get("/jobs").status_code == 401
    assert sign_in(client, "").status_code == 400


def test_a_sign_in_posted_from_another_site_is_refused(client):
    answer = sign_in(client, headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403 and "Set-Cookie" not in answer.headers


def test_signing_out_ends_the_session_everywhere(client):
    sign_in(client)
    cookie = client.get_cookie("executor_session").value
    token = csrf_token(client)
    answer = client.post("/dashboard/sign-out", data={"csrf_token": token}, headers=SAME_ORIGIN)
    assert answer.status_code == 303
    assert client.get("/jobs").status_code == 401
    client.set_cookie("executor_session", cookie)  # the old cookie, kept by someone: ended in Redis too
    assert client.get("/jobs").status_code == 401
    assert "Admin token" in client.get("/dashboard").get_data(as_text=True)


def test_a_new_admin_token_ends_the_sessions_opened_with_the_old_one(client, settings, redis, clock):
    sign_in(client)
    cookie = client.get_cookie("executor_session").value
    rotated = create_app(dataclasses.replace(settings, admin_token=Secret("a-new-token")), clock=clock).test_client()
    rotated.set_cookie("executor_session", cookie)
    assert rotated.get("/jobs").status_code == 401


def test_a_replay_from_the_console_needs_its_csrf_token_and_its_origin(client, run_jobs):
    job_id = failed_job(client, run_jobs)
    sign_in(client)
    token = csrf_token(client)
    replay = f"/jobs/{job_id}/replay"
    refused = [
        client.post(replay, headers=SAME_ORIGIN),  # no CSRF token
        client.post(replay, headers={**SAME_ORIGIN, "X-CSRF-Token": "forged"}),
        client.post(replay, headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}),
        client.post(replay, headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "same-site"}),
        client.post(replay, headers={"X-CSRF-Token": token, "Origin": "null"}),
    ]
    assert [answer.status_code for answer in refused] == [403] * 5
    assert client.get(f"/jobs/{job_id}").json["replays"] == []
    done = client.post(replay, headers={**SAME_ORIGIN, "X-CSRF-Token": token})
    assert done.status_code == 202 and done.json["replays"][0]["from"].startswith("console:")


def test_a_script_with_the_admin_token_replays_without_a_csrf_token(client, run_jobs):
    job_id = failed_job(client, run_jobs)
    answer = client.post(f"/jobs/{job_id}/replay", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 202 and answer.json["replays"][0]["from"].startswith("api:")


@pytest.mark.parametrize("path", ["/dashboard"])
def test_the_console_is_404_saying_why_where_no_admin_token_is_set(settings, redis, clock, path):
    client = create_app(dataclasses.replace(settings, admin_token=None), clock=clock).test_client()
    answer = client.get(path)
    assert answer.status_code == 404 and "ADMIN_TOKEN" in answer.get_data(as_text=True)
    assert client.post("/dashboard/sign-in", data={"token": "x"}).status_code == 404
