"""Venue requests through a real authenticating forward proxy, configured as users configure it.

``HTTPS_PROXY``/``HTTP_PROXY`` with the user and password in the URL (what Heroku's static-IP add-ons hand
out), ``NO_PROXY``, and an https venue reached through the proxy's tunnel (CONNECT), its certificate
verified against ``REQUESTS_CA_BUNDLE``. The proxy is proxy.py in a process of its own, demanding Basic
credentials: what it forwarded, it forwarded because the request carried the right Proxy-Authorization.
"""
from __future__ import annotations

import dataclasses
import json
import ssl
import threading
import time
from typing import Iterator

import pytest
import requests
import trustme
from rq.serializers import JSONSerializer
from werkzeug.serving import make_server

from executor.alertqueue import make_queue
from executor.errors import RetryLater
from executor.simulator import DEMO_COINW_API_KEY, SimulatorState, create_simulator_app
from executor.simulator.server import QuietRequestHandler
from executor.venues.transport import Request, Transport
from tests.coinw import REVERSE, open_position, send, venue_requests, view
from tests.conftest import BurstWorker
from tests.proxyserver import AuthenticatingProxy
from workers.maintenance import release_due_jobs
from workers.runtime import Runtime, install_runtime

pytestmark = pytest.mark.e2e

PROXY_USER = "quotaguard-user-7f3a"
PROXY_PASSWORD = "p4ss-c0ffee-91d2"
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                   "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def proxy(tmp_path) -> Iterator[AuthenticatingProxy]:
    server = AuthenticatingProxy(tmp_path, PROXY_USER, PROXY_PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def no_proxy_environment(monkeypatch):
    """No proxy setting from the machine's environment leaks into a test; each test sets its own."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def worker(settings, redis, no_proxy_environment):
    """Run the queued jobs in-process through the product's worker with these environment variables set
    (only meanwhile: the test's own requests to the simulator's control API go straight to it)."""

    def run(tuned=None, **environment: str) -> None:
        with no_proxy_environment.context() as variables:
            for name, value in environment.items():
                variables.setenv(name, value)
            runtime = Runtime(tuned or settings, redis=redis)
            install_runtime(runtime)
            try:
                BurstWorker([make_queue(redis, tuned or settings)], connection=redis,
                            serializer=JSONSerializer).work(burst=True)
            finally:
                install_runtime(None)
                runtime.transport.close()

    return run


def everything_stored(redis) -> bytes:
    """Every key and value in the test Redis, as bytes: a secret stored anywhere shows up in it."""
    dump = bytearray()
    for key in redis.scan_iter():
        kind = redis.type(key)
        values = {b"string": lambda: [redis.get(key)], b"hash": lambda: [*redis.hgetall(key).items()],
                  b"list": lambda: redis.lrange(key, 0, -1), b"set": lambda: list(redis.smembers(key)),
                  b"zset": lambda: redis.zrange(key, 0, -1)}.get(kind, lambda: [])()
        dump += key
        for value in values:
            dump += b"".join(value) if isinstance(value, tuple) else (value or b"")
    return bytes(dump)


def assert_no_credentials(*texts: str | bytes) -> None:
    for text in texts:
        raw = text.encode() if isinstance(text, str) else text
        assert PROXY_PASSWORD.encode() not in raw and PROXY_USER.encode() not in raw, text[:2000]


def test_the_proxy_demands_credentials_and_refuses_missing_or_wrong_ones_with_407(proxy, simulator):
    target = f"{simulator.base_url}/_sim/health"
    assert requests.get(target, proxies={"http": proxy.url("", "")}, timeout=5).status_code == 407
    assert requests.get(target, proxies={"http": proxy.url(password="wrong")}, timeout=5).status_code == 407
    assert requests.get(target, proxies={"http": proxy.url()}, timeout=5).status_code == 200
    target = target.removeprefix("http://")
    assert proxy.refusals() == 2
    assert proxy.forwarded() == [{"method": "GET", "target": target, "proxy_authorization": "valid"}]


def test_a_reversal_goes_through_the_proxy_with_the_credentials_of_http_proxy(
        proxy, no_proxy_environment, client, simulator, worker, redis, caplog):
    open_position(simulator)
    job_id = send(client)
    with caplog.at_level("DEBUG"):
        worker(HTTP_PROXY=proxy.url())
    record = view(client, job_id)
    assert record["status"] == "finished", record
    assert len(venue_requests(simulator, REVERSE)) == 1
    venue = simulator.base_url.removeprefix("http://")
    assert proxy.forwarded() == [
        {"method": "GET", "target": f"{venue}/v1/perpum/positions?instrument=BTC", "proxy_authorization": "valid"},
        {"method": "POST", "target": f"{venue}{REVERSE}", "proxy_authorization": "valid"},
    ]
    assert proxy.refusals() == 0
    assert f"through the proxy {proxy.address} (with credentials)" in caplog.text
    assert_no_credentials(caplog.text, everything_stored(redis), json.dumps(record))


def test_wrong_proxy_credentials_defer_the_job_with_a_clear_error_and_it_runs_once_they_are_right(
        proxy, no_proxy_environment, client, simulator, worker, redis, settings, caplog):
    open_position(simulator)
    job_id = send(client)
    with caplog.at_level("DEBUG"):
        worker(HTTP_PROXY=proxy.url(password="an-old-" + PROXY_PASSWORD))
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "proxy", record
    error = record["attempts"][0]["error"]["message"]
    assert f"the proxy {proxy.address} refused the request (HTTP 407" in error
    assert "check the user and password in the proxy URL" in error and "nothing was sent" in error
    assert venue_requests(simulator) == [] and proxy.refusals() == 1
    assert_no_credentials(caplog.text, everything_stored(redis), json.dumps(record), error)

    release_due_jobs(make_queue(redis, settings), now=time.time() + 3600)
    worker(HTTP_PROXY=proxy.url())
    record = view(client, job_id)
    assert record["status"] == "finished" and record["attempts"][-1]["outcome"] == "sent", record
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_no_proxy_sends_the_venue_requests_straight_to_the_venue(
        proxy, no_proxy_environment, client, simulator, worker):
    open_position(simulator)
    job_id = send(client)
    worker(HTTP_PROXY=proxy.url(), NO_PROXY="example.com,127.0.0.1")
    assert view(client, job_id)["status"] == "finished"
    assert len(venue_requests(simulator, REVERSE)) == 1
    assert proxy.forwarded() == [] and proxy.refusals() == 0


def test_the_transport_and_its_routes_never_show_the_proxy_credentials(proxy, no_proxy_environment, simulator):
    no_proxy_environment.setenv("HTTP_PROXY", proxy.url())
    transport = Transport()
    route = transport.route(f"{simulator.base_url}/v1/perpum/positions")
    assert route.proxy == proxy.address
    assert_no_credentials(repr(transport), repr(route), str(route.proxy))


@pytest.mark.parametrize("setting, error", [
    (f"http://{PROXY_USER}:{PROXY_PASSWORD}@", "the proxy URL for http://127.0.0.1:[0-9]+ names no host: check the "
                                               "proxy settings; nothing was sent"),
    (f"socks9://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1", "could not be made \\(InvalidSchema: check the venue's "
                                                           "base URL, its credentials and the proxy settings\\); "
                                                           "nothing was sent"),
])
def test_a_proxy_url_that_cannot_be_used_means_nothing_was_sent_and_is_not_shown(
        setting, error, no_proxy_environment, simulator):
    with no_proxy_environment.context() as variables:
        variables.setenv("HTTP_PROXY", setting)
        with pytest.raises(RetryLater, match=error) as refused:
            Transport().send("coinw", DEMO_COINW_API_KEY, reverse_request(simulator.base_url))
    assert_no_credentials(str(refused.value), repr(refused.value))
    assert venue_requests(simulator) == []


def test_a_header_that_cannot_be_sent_means_nothing_was_sent(no_proxy_environment, simulator):
    request = Request("POST", f"{simulator.base_url}{REVERSE}", "reverse", {"api_key": "a key\nwith a line break"},
                      body="{}", mutating=True)
    with pytest.raises(RetryLater, match="could not be made \\(InvalidHeader.*nothing was sent"):
        Transport().send("coinw", DEMO_COINW_API_KEY, request)
    assert venue_requests(simulator) == []


# An https venue: the simulator behind TLS, with a certificate from a CA of the test's own.

@pytest.fixture
def certificate_authority(tmp_path) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    bundle = tmp_path / "test-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, str(bundle)


@pytest.fixture
def tls_simulator(certificate_authority):
    """The venue simulator serving https on loopback (certificate for localhost and 127.0.0.1)."""
    authority, _ = certificate_authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    state = SimulatorState()
    server = make_server("127.0.0.1", 0, create_simulator_app(state), threaded=True,
                         request_handler=QuietRequestHandler, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"https://localhost:{server.port}", state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def control(base_url: str, bundle: str) -> requests.Session:
    """A session for the simulator's control API over TLS, straight (never through the proxy)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = bundle
    return session


def test_an_https_venue_is_reached_through_the_proxys_tunnel_and_verified_against_requests_ca_bundle(
        proxy, no_proxy_environment, tls_simulator, certificate_authority, client, worker, settings, redis,
        caplog):
    base_url, _ = tls_simulator
    _, bundle = certificate_authority
    with control(base_url, bundle) as sim:
        opened = sim.post(f"{base_url}/_sim/positions", timeout=5, json={
            "venue": "coinw", "api_key": DEMO_COINW_API_KEY, "instrument": "BTC", "direction": "long", "size": "10"})
        assert opened.status_code == 201, opened.text
        tls_settings = dataclasses.replace(settings, coinw=dataclasses.replace(settings.coinw, base_url=base_url))
        job_id = send(client)
        with caplog.at_level("DEBUG"):
            worker(tls_settings, HTTPS_PROXY=proxy.url(), REQUESTS_CA_BUNDLE=bundle)
        received = sim.get(f"{base_url}/_sim/requests", params={"venue": "coinw"}, timeout=5).json()["requests"]
    record = view(client, job_id)
    assert record["status"] == "finished", record
    assert [(entry["method"], entry["path"]) for entry in received] == [
        ("GET", "/v1/perpum/positions"), ("POST", REVERSE)]
    # One tunnel, kept alive for both requests: through it the proxy sees only encrypted bytes.
    assert proxy.forwarded() == [{"method": "CONNECT", "target": base_url.removeprefix("https://"),
                                  "proxy_authorization": "valid"}]
    assert_no_credentials(caplog.text, everything_stored(redis), json.dumps(record))


def reverse_request(base_url: str) -> Request:
    return Request("POST", f"{base_url}{REVERSE}", "reverse", {"Content-Type": "application/json"}, body="{}",
                   mutating=True)


def test_a_tunnel_refused_for_wrong_credentials_means_nothing_was_sent(
        proxy, no_proxy_environment, tls_simulator, certificate_authority):
    base_url, _ = tls_simulator
    no_proxy_environment.setenv("HTTPS_PROXY", proxy.url(password="wrong"))
    no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", certificate_authority[1])
    with pytest.raises(RetryLater) as refused:
        Transport().send("coinw", DEMO_COINW_API_KEY, reverse_request(base_url))
    message = str(refused.value)
    assert f"the proxy {proxy.address} refused the tunnel to {base_url} (407 Proxy Authentication Required" in message
    assert refused.value.reason == "proxy" and "nothing was sent" in message
    assert_no_credentials(message, repr(refused.value))
    assert proxy.refusals() == 1 and received_by(base_url, certificate_authority[1]) == []


def received_by(base_url: str, bundle: str) -> list[dict]:
    with control(base_url, bundle) as sim:
        return sim.get(f"{base_url}/_sim/requests", params={"venue": "coinw"}, timeout=5).json()["requests"]


def test_an_https_venue_whose_certificate_is_not_in_the_ca_bundle_is_sent_nothing(
        proxy, no_proxy_environment, tls_simulator, certificate_authority, tmp_path):
    base_url, _ = tls_simulator
    other = tmp_path / "another-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    no_proxy_environment.setenv("HTTPS_PROXY", proxy.url())
    no_proxy_environment.setenv("REQUESTS_CA_BUNDLE", str(other))
    with pytest.raises(RetryLater, match=f"the TLS certificate of {base_url} is not trusted .*nothing was sent"):
        Transport().send("coinw", DEMO_COINW_API_KEY, reverse_request(base_url))
    assert received_by(base_url, certificate_authority[1]) == []
