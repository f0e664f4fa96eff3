"""Running the simulator: in a background thread for tests, or blocking for the CLI."""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from executor.simulator.app import create_simulator_app
from executor.simulator.demo import seed_demo
from executor.simulator.gateway import ARRIVED_AT_KEY, RAW_HEADERS_KEY, RECORD_KEY
from executor.simulator.state import SimulatorState

#: Longest wait for the server thread to stop.
STOP_TIMEOUT_S = 5.0

#: How often the serving loop checks for a stop request.
POLL_INTERVAL_S = 0.02

#: What a failure outside the simulator's Flask app (which answers its own errors) is answered with.
INTERNAL_ERROR = ("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")],
                  b'{"error": "simulator: internal error"}')

log = logging.getLogger(__name__)
#: One line per request answered, in the product's log format (``executor.logs``).
access_log = logging.getLogger("executor.simulator.access")


class SimulatorRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, keeping connections alive and passing the headers exactly as sent.

    HTTP/1.1 connections stay open for the next request, as the venues' servers keep them:
    werkzeug's own handler closes every connection after one answer, so each venue request
    would pay a new connection that real venues do not make it pay. The request body is read
    to its ``Content-Length`` before the next request is read; a chunked body, or a client
    asking for ``Connection: close``, closes the connection after the answer.

    Werkzeug leaves header names with underscores out of the WSGI environ;
    CoinW's are ``api_key``, so the raw headers travel under their own key.
    The arrival time is taken as soon as the request's headers are read, before
    any routing. Once the answer has left, its log record gets ``answered_at``, and
    then the access log line is written (after the answer, so it does not delay it).
    """

    protocol_version = "HTTP/1.1"
    #: Whether to write an access log line per request.
    access_log = True
    _answered: tuple[int | str, int | str] | None = None
    _environ: dict[str, Any] | None = None

    def setup(self) -> None:
        super().setup()
        # An answer is written in two parts (head, body): without this, on a kept-alive connection the
        # body waits for the client's delayed acknowledgement of the head (about 40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections = getattr(self.server, "open_connections", None)
        if connections is not None:
            connections.add(self.connection)

    def finish(self) -> None:
        connections = getattr(self.server, "open_connections", None)
        if connections is not None:
            connections.discard(self.connection)
        super().finish()

    def make_environ(self) -> dict[str, Any]:
        arrived_at = time.time()
        environ = self._environ = super().make_environ()
        environ[ARRIVED_AT_KEY] = arrived_at
        environ[RAW_HEADERS_KEY] = Headers(list(self.headers.items()))
        if environ.get("wsgi.input_terminated"):  # chunked: its end is not known before it is read
            self.close_connection = True
        else:
            environ["wsgi.input"] = LimitedStream(self.rfile, _content_length(environ, self))
        return environ

    def run_wsgi(self) -> None:
        """Call the app and write its whole answer with its length, leaving the connection open."""
        environ = self.make_environ()
        try:
            status, headers, body = _call(self.server.app, environ)
        except (ConnectionError, socket.timeout):  # the drop fault shut the socket: nothing may be written
            self.close_connection = True
            return
        except Exception:
            log.exception("simulator: error on %s %s", self.command, self.path)
            status, headers, body = INTERNAL_ERROR
        self._answer(status, headers, body)
        if not self.close_connection:
            environ["wsgi.input"].exhaust()  # what the app left unread, so the next request starts clean

    def _answer(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one_request(self) -> None:
        self._answered = self._environ = None
        try:
            super().handle_one_request()
        finally:
            record = self._environ.get(RECORD_KEY) if self._environ is not None else None
            if record is not None and self._answered is not None:
                record.answered_at = time.time()
            if self._answered is not None and self.access_log:
                super().log_request(*self._answered)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self._answered = (code, size)  # logged by handle_one_request, after the answer

    def log(self, type: str, message: str, *args: Any) -> None:
        """Werkzeug's request and error lines through the product's logging (werkzeug's own stamps a local
        time of its own): one line each, in the one format of every process."""
        getattr(access_log, type if type in ("info", "warning", "error") else "info")(
            "%s %s", self.address_string(), message % args if args else message)


def _content_length(environ: dict[str, Any], handler: SimulatorRequestHandler) -> int:
    """The body's declared length (none: 0); one that cannot be read closes the connection after the answer."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0:
        handler.close_connection = True
        return 0
    return length


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The app's status, headers and whole body (the simulator's answers are small)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None  # the legacy write() callable: not used by Flask

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


class QuietRequestHandler(SimulatorRequestHandler):
    """No access log line per request: tests and benchmarks stay fast and silent."""

    access_log = False


class _OpenConnections:
    """The connections a server's handlers keep open, so that stopping the server closes them too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def close_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # its handler reads the end and closes it
            except OSError:
                pass


class SimulatorServer:
    """A simulator serving in a daemon thread; ``stop()`` ends it, and its open connections, within a bound."""

    def __init__(self, server: BaseWSGIServer, state: SimulatorState, host: str) -> None:
        self._server = server
        self._connections = server.open_connections = _OpenConnections()  # type: ignore[attr-defined]
        self.state = state
        self.port: int = server.port
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.base_url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name=f"simulator-{self.port}",
                                        kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True)

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop serving and close the sockets, kept-alive connections included; gives up waiting after
        ``timeout``."""
        if self._thread.is_alive():
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout)
            self._thread.join(timeout)
        self._server.server_close()
        self._connections.close_all()

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimulatorServer({self.base_url!r})"


def start_simulator(host: str = "127.0.0.1", port: int = 0,
                    state: SimulatorState | None = None) -> SimulatorServer:
    """Serve a simulator on ``host:port`` (0: any free port) in a background thread.

    The socket listens before this returns, so requests can be sent at once.
    """
    state = state if state is not None else SimulatorState()
    app = create_simulator_app(state)
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    return SimulatorServer(server, state, host).start()


def serve(host: str, port: int, *, demo: bool = True) -> None:
    """Serve a simulator in the foreground until interrupted (``executor simulate``)."""
    state = SimulatorState()
    app = create_simulator_app(state)
    if demo:
        seed_demo(state)
    server = make_server(host, port, app, threaded=True, request_handler=SimulatorRequestHandler)
    log.warning("venue simulator listening on http://%s:%d (demo=%s)", host, server.port, demo)
    server.serve_forever()
