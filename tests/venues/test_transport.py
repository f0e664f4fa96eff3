"""The transport honours the proxy settings of the environment, read once per venue address."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from executor.venues.transport import Request, Transport


class _Recorder(BaseHTTPRequestHandler):
    """Answers 200 to anything and remembers each request line."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.lines.append(self.requestline)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

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
