"""The transport: what each way a request can fail means, and the environment's proxy settings."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import socket
import time

import pytest

from executor.errors import OutcomeUnknown, RetryLater
from executor.venues.transport import Request, Transport


class _Recorder(BaseHTTPRequestHandler):
    """Answers 200 to anything and remembers each request line."""

    protocol_version = "HTTP/1.1"  # keeps connections alive, as venues do

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        lines = self.server.lines  # type: ignore[attr-defined]
        lines.append(self.requestline)
        if self.path.startswith("/hang-up") and lines.count(self.requestline) == 1:
            self.close_connection = True  # the first such request is read, then the connection closes unanswered
            return
        if self.path.startswith("/slow"):
            time.sleep(0.5)
        body, headers = b"{}", {"Content-Type": "application/json"}
        if self.path.startswith("/latin"):
            body, headers = "{\"name\": \"\u00e9t\u00e9\"}".encode("latin-1"), {"Content-Type": "application/json; charset=latin-1"}
        self.send_response(302 if self.path.startswith("/moved") else 200)
        if self.path.startswith("/moved"):
            headers["Location"] = "/elsewhere"
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # a client that gave up waiting (the read timeout test)
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder():
    """Start a recording HTTP server on loopback; yield (base URL, request lines); stop it."""
    def start():
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.lines = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_port}", server.lines  # type: ignore[attr-defined]

    started: list[ThreadingHTTPServer] = []
    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean_proxy_environment(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def read(url: str) -> Request:
    return Request("GET", url, "positions", {})


def order(url: str) -> Request:
    return Request("POST", url, "order", {"Content-Type": "application/json"}, body="{}", mutating=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("request_for", [read, order])
def test_a_venue_that_cannot_be_reached_was_sent_nothing(request_for, clean_proxy_environment):
    with pytest.raises(RetryLater, match="could not connect .*nothing was sent"):
        Transport().send("coinw", "key", request_for(f"http://127.0.0.1:{closed_port()}/v1/order"))


def test_an_unreachable_proxy_means_nothing_was_sent(clean_proxy_environment):
    clean_proxy_environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(RetryLater, match="nothing was sent"):
        Transport().send("coinw", "key", order("http://venue.example/v1/order"))


def test_a_read_whose_connection_is_closed_unanswered_is_read_again_once(recorder, clean_proxy_environment):
    url, lines = recorder()
    assert Transport().send("coinw", "key", read(f"{url}/hang-up")).status == 200
    assert lines == ["GET /hang-up HTTP/1.1"] * 2


def test_an_order_whose_connection_is_closed_unanswered_is_outcome_unknown_and_not_repeated(
        recorder, clean_proxy_environment):
    url, lines = recorder()
    with pytest.raises(OutcomeUnknown, match="order: request sent, answer lost"):
        Transport().send("coinw", "key", order(f"{url}/hang-up"))
    assert lines == ["POST /hang-up HTTP/1.1"]


def test_an_answer_slower_than_the_read_timeout(recorder, clean_proxy_environment):
    url, lines = recorder()
    transport = Transport(timeout=(1.0, 0.1))
    with pytest.raises(OutcomeUnknown, match="answer lost \\(ReadTimeout"):
        transport.send("coinw", "key", order(f"{url}/slow"))
    with pytest.raises(RetryLater, match="read failed \\(ReadTimeout.*\\); safe to repeat"):
        transport.send("coinw", "key", read(f"{url}/slow"))
    assert lines == ["POST /slow HTTP/1.1", "GET /slow HTTP/1.1"]


def test_a_redirect_is_answered_as_it_is_never_followed(recorder, clean_proxy_environment):
    url, lines = recorder()
    reply = Transport().send("coinw", "key", order(f"{url}/moved"))
    assert reply.status == 302 and reply.headers["location"] == "/elsewhere"
    assert lines == ["POST /moved HTTP/1.1"]


def test_the_answer_is_read_in_the_charset_it_names(recorder, clean_proxy_environment):
    url, _ = recorder()
    assert Transport().send("coinw", "key", read(f"{url}/latin")).text == '{"name": "\u00e9t\u00e9"}'


def test_a_proxy_set_in_the_environment_carries_the_venue_requests(recorder, clean_proxy_environment):
    proxy_url, proxied = recorder()
    clean_proxy_environment.setenv("HTTP_PROXY", proxy_url)
    transport = Transport()
    for _ in range(2):
        assert transport.send("coinw", "key", read("http://venue.example/v1/perpum/positions")).status == 200
    assert proxied == ["GET http://venue.example/v1/perpum/positions HTTP/1.1"] * 2


def test_no_proxy_in_the_environment_sends_straight_to_the_venue(recorder, clean_proxy_environment):
    proxy_url, proxied = recorder()
    venue_url, direct = recorder()
    clean_proxy_environment.setenv("HTTP_PROXY", proxy_url)
    clean_proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    assert Transport().send("coinw", "key", read(f"{venue_url}/v1/perpum/positions")).status == 200
    assert direct == ["GET /v1/perpum/positions HTTP/1.1"] and proxied == []


def test_tls_to_a_venue_is_verified_against_the_environments_ca_bundle_or_certifis(clean_proxy_environment, tmp_path):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        clean_proxy_environment.delenv(name, raising=False)
    assert Transport().route("https://api.coinw.com/v1/perpum/positions").session.verify is True  # certifi's
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("")
    clean_proxy_environment.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert Transport().route("https://api.coinw.com/v1/perpum/positions").session.verify == str(bundle)
