"""The control API, the request log, demo seeding and the server's life cycle."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
import requests

from werkzeug.serving import make_server

from executor.simulator import (DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, SimulatorState,
                                create_simulator_app, seed_demo, start_simulator)
from executor.simulator.server import QuietRequestHandler, SimulatorRequestHandler

SECRET = "s3cret-never-shown"


def test_request_log_records_the_wire_request_and_its_outcome(coinw, control):
    position = control.open_position()
    before = time.time()
    coinw.request("GET", "/v1/perpum/positions", query="instrument=BTC&openIds=1%2C2")
    coinw.reverse(position["id"])
    after = time.time()
    deadline = time.monotonic() + 2  # answered_at is written just after the answer left
    while any(entry["answered_at"] is None for entry in control.requests()) and time.monotonic() < deadline:
        time.sleep(0.01)
    get, post = control.requests()
    assert get["seq"] < post["seq"]
    assert get["received_at"] < get["answered_at"] and post["received_at"] < post["answered_at"]
    assert (get["venue"], get["method"], get["path"]) == ("coinw", "GET", "/v1/perpum/positions")
    assert get["query"] == "instrument=BTC&openIds=1%2C2" and get["body"] == ""
    assert post["body"] == json.dumps({"id": position["id"]}, separators=(",", ":"))
    assert before <= get["received_at"] <= post["received_at"] <= after
    assert post["api_key"] == DEMO_COINW_API_KEY
    assert (post["status"], post["code"], post["rate_limited"], post["fault"]) == (200, 0, False, None)


def test_request_log_since_and_clear(coinw, control):
    coinw.positions()
    first = control.requests()[0]["seq"]
    coinw.positions()
    assert [r["seq"] for r in control.requests(since=first)] == [first + 1]
    assert requests.delete(control.base_url + "/requests", timeout=5).json() == {"ok": True}
    assert control.requests() == []


def test_no_secret_or_signature_is_ever_shown(sim, control, client_for):
    control.post("/credentials", {"venue": "coinw", "api_key": "k9", "secret_key": SECRET})
    client = client_for("k9", SECRET)
    position = control.open_position(api_key="k9")
    client.reverse(position["id"])
    client_for("k9", "wrong").request("GET", "/v1/perpum/positions", query="instrument=BTC")
    shown = [requests.get(sim.base_url + path, timeout=5).text for path in (
        "/_sim/requests", "/_sim/positions?venue=coinw", "/_sim/orders?venue=coinw",
        "/_sim/faults", "/_sim/config", "/_sim/stats?venue=coinw")]
    text = "".join(shown) + repr(sim.state) + repr(sim.state.credentials("coinw", "k9"))
    assert SECRET not in text and DEMO_COINW_SECRET_KEY not in text
    assert "sign" not in json.loads(shown[0])["requests"][0]


def test_reset_clears_world_but_keeps_credentials(coinw, control, client_for):
    control.post("/credentials", {"venue": "coinw", "api_key": "k2", "secret_key": "s2"})
    control.open_position()
    coinw.reverse(1)
    control.fault(kind="drop", path="/nowhere")
    assert control.post("/reset", {}) == {"ok": True}
    assert control.get("/positions", venue="coinw")["positions"] == []
    assert control.orders() == [] and control.get("/faults")["faults"] == []
    assert coinw.positions() == [] and client_for("k2", "s2").positions() == []
    assert len(control.requests()) == 2


def test_control_positions_create_and_list(control):
    created = control.post("/positions", {"venue": "coinw", "api_key": "a", "instrument": "eth",
                                          "direction": "short", "size": "2.5", "open_price": "3000",
                                          "leverage": 20})
    assert (created["instrument"], created["currentPiece"], created["openPrice"]) == ("ETH", "2.5", "3000")
    assert created["leverage"] == 20
    control.open_position(api_key="b")
    assert len(control.get("/positions", venue="coinw")["positions"]) == 2
    [only] = control.get("/positions", venue="coinw", api_key="a")["positions"]
    assert only["id"] == created["id"] and only["api_key"] == "a"


@pytest.mark.parametrize("body", [
    {"venue": "coinw", "api_key": "a", "instrument": "BTC", "direction": "up", "size": "1"},
    {"venue": "coinw", "api_key": "a", "instrument": "BTC", "direction": "long", "size": "0"},
    {"venue": "coinw", "api_key": "a", "instrument": "BTC", "direction": "long", "size": "x"},
    {"venue": "mars", "api_key": "a", "instrument": "BTC", "direction": "long", "size": "1"},
    {"venue": "coinw", "instrument": "BTC", "direction": "long", "size": "1"},
])
def test_control_positions_refuse_bad_input(control, body):
    assert requests.post(control.base_url + "/positions", json=body, timeout=5).status_code == 400


def test_credentials_require_every_field(control):
    reply = requests.post(control.base_url + "/credentials", json={"venue": "coinw", "api_key": "k"},
                          timeout=5)
    assert reply.status_code == 400 and "secret_key" in reply.json()["error"]


def test_config_round_trip_and_validation(control):
    assert control.post("/config", {"enforce_limits": False})["enforce_limits"] is False
    assert control.get("/config")["timestamp_window_s"] == 30.0
    reply = requests.post(control.base_url + "/config", json={"timestamp_window_s": -1}, timeout=5)
    assert reply.status_code == 400


def test_demo_credentials_exist_without_seeding_and_seed_opens_btc_long():
    state = SimulatorState()
    create_simulator_app(state)
    assert state.credentials("coinw", DEMO_COINW_API_KEY) is not None
    assert state.positions("coinw") == []
    seed_demo(state)
    [position] = state.positions("coinw", DEMO_COINW_API_KEY, "BTC")
    assert (position.direction, str(position.current_size)) == ("long", "10")


def test_start_and_stop_are_bounded_and_free_the_port():
    server = start_simulator()
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert requests.get(server.base_url + "/_sim/health", timeout=5).json()["venues"] == ["bitget", "coinw", "crosstrade"]
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_flask_test_client_works_without_a_server():
    app = create_simulator_app()
    reply = app.test_client().get("/v1/perpum/positions?instrument=BTC")
    assert reply.get_json()["code"] == 6000


def test_request_log_takes_arrival_once_the_headers_are_read_before_the_body_and_routing(sim, control):
    body = b'{"id": 1}'
    head = (f"POST /v1/perpum/positions/reverse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        conn.sendall(head)
        time.sleep(0.3)  # the server has the headers; the body comes later
        body_sent = time.time()
        conn.sendall(body)
        conn.recv(4096)
    (entry,) = control.requests()
    assert entry["received_at"] < body_sent - 0.2


@pytest.mark.parametrize("handler, lines", [(SimulatorRequestHandler, 2), (QuietRequestHandler, 0)])
def test_the_access_log_has_one_line_per_answered_request_unless_quiet(handler, lines, caplog):
    server = make_server("127.0.0.1", 0, create_simulator_app(), threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="executor.simulator.access"), requests.Session() as http:
            for path in ("/_sim/health", "/nowhere"):
                http.get(f"http://127.0.0.1:{server.port}{path}", headers={"Connection": "close"}, timeout=5)
            for handling in [t for t in threading.enumerate() if "process_request_thread" in t.name]:
                handling.join(5)  # each writes its line after its answer, then ends (the connection closed)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    logged = [record.getMessage() for record in caplog.records if record.name == "executor.simulator.access"]
    assert len(logged) == lines
    for line, path, status in zip(logged, ("/_sim/health", "/nowhere"), ("200", "404")):
        assert f"GET {path} HTTP/1.1" in line and line.rstrip(" -").endswith(status)  # 404s come coloured


def _exchange(conn: socket.socket, request: bytes) -> bytes:
    """Send one request on ``conn`` and read its whole answer (its Content-Length)."""
    conn.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(4096) or pytest.fail(f"connection closed after {answer!r}")
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += conn.recv(4096) or pytest.fail("connection closed mid-body")
    return head


def test_a_connection_stays_open_for_the_next_request_as_at_a_venue(sim):
    unread_body = b'{"ignored": true}'
    with_unread_body = (b"GET /_sim/health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(unread_body)).encode() + b"\r\n\r\n" + unread_body)
    health = b"GET /_sim/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        first = _exchange(conn, with_unread_body)  # the health check never reads a body
        second = _exchange(conn, health)  # the first body was drained: this request line is read whole
        time.sleep(0.3)
        third = _exchange(conn, health)
    assert first.startswith(b"HTTP/1.1 200") and b"connection: close" not in first.lower()
    assert second.startswith(b"HTTP/1.1 200") and third.startswith(b"HTTP/1.1 200")


def test_a_client_asking_to_close_gets_its_answer_then_the_connection_closes(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        head = _exchange(conn, b"GET /_sim/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"connection: close" in head.lower()
        assert conn.recv(4096) == b""


def test_stopping_the_simulator_closes_the_connections_it_kept_open():
    server = start_simulator()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        _exchange(conn, b"GET /_sim/health HTTP/1.1\r\nHost: x\r\n\r\n")
        server.stop()
        try:
            conn.sendall(b"GET /_sim/health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.recv(4096)
        except OSError:
            answer = b""
    assert answer == b""  # a stopped venue answers nothing, also on a connection opened before


def test_answers_on_a_kept_alive_connection_leave_at_once(sim):
    """Headers and body of a request in two writes, as urllib3 sends them: an answer held back by Nagle's
    algorithm until the client's delayed acknowledgement (about 40 ms a request) would show here."""
    body = b'{"x": 1}'
    head = b"POST /_sim/health HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 sets it
        started = time.monotonic()
        for _ in range(20):
            conn.sendall(head)
            _exchange(conn, body)
        elapsed = time.monotonic() - started
    assert elapsed < 0.4, f"20 answers took {elapsed * 1000:.0f} ms"
