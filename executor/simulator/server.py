"""Running the simulator: in a background thread for tests, or blocking for the CLI."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from executor.simulator.app import create_simulator_app
from executor.simulator.demo import seed_demo
from executor.simulator.gateway import ARRIVED_AT_KEY, RAW_HEADERS_KEY, RECORD_KEY
from executor.simulator.state import SimulatorState

#: Longest wait for the server thread to stop.
STOP_TIMEOUT_S = 5.0

#: How often the serving loop checks for a stop request.
POLL_INTERVAL_S = 0.02

log = logging.getLogger(__name__)


class SimulatorRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, also passing the headers exactly as sent.

    Werkzeug leaves header names with underscores out of the WSGI environ;
    CoinW's are ``api_key``, so the raw headers travel under their own key.
    The arrival time is taken as soon as the request's headers are read, before
    any routing. HTTP/1.1 keeps connections alive, as the venues' servers do.
    Once the answer has left, its log record gets ``answered_at``, and then the
    access log line is written (werkzeug writes it before the answer, which
    delayed every answer by the time a log line takes).
    """

    protocol_version = "HTTP/1.1"
    #: Whether to write an access log line per request.
    access_log = True
    _answered: tuple[int | str, int | str] | None = None
    _environ: dict[str, Any] | None = None

    def make_environ(self) -> dict[str, Any]:
        arrived_at = time.time()
        environ = self._environ = super().make_environ()
        environ[ARRIVED_AT_KEY] = arrived_at
        environ[RAW_HEADERS_KEY] = Headers(list(self.headers.items()))
        return environ

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


class QuietRequestHandler(SimulatorRequestHandler):
    """No access log line per request: tests and benchmarks stay fast and silent."""

    access_log = False


class SimulatorServer:
    """A simulator serving in a daemon thread; ``stop()`` ends it within a bound."""

    def __init__(self, server: BaseWSGIServer, state: SimulatorState, host: str) -> None:
        self._server = server
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
        """Stop serving and close the socket; gives up waiting after ``timeout``."""
        if self._thread.is_alive():
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout)
            self._thread.join(timeout)
        self._server.server_close()

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
